// A small SVG line chart of one heartbeat value over time (0–100 %), drawn from the host's
// heartbeat history. Attributes only: no inline style, as the CSP requires.
import type { HeartbeatPoint } from '../api.ts';

const WIDTH = 320;
const HEIGHT = 60;

export function Sparkline(props: { label: string; points: readonly HeartbeatPoint[]; value: (point: HeartbeatPoint) => number | null }) {
  const values = props.points.map((point) => ({ at: Date.parse(point.at), value: props.value(point) })).filter((item): item is { at: number; value: number } => item.value !== null);
  if (values.length === 0)
    return (
      <figure class="sparkline">
        <figcaption>{props.label}: no data yet</figcaption>
      </figure>
    );
  const first = values[0]!.at;
  const span = Math.max(1, values.at(-1)!.at - first);
  const path = values.map((item) => `${(((item.at - first) / span) * WIDTH).toFixed(1)},${(HEIGHT - (Math.min(100, Math.max(0, item.value)) / 100) * HEIGHT).toFixed(1)}`).join(' ');
  const last = values.at(-1)!.value;
  return (
    <figure class="sparkline" data-chart={props.label} data-points={values.length}>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} width={WIDTH} height={HEIGHT} role="img" aria-label={`${props.label}, last ${last.toFixed(0)} %`}>
        <rect x="0" y="0" width={WIDTH} height={HEIGHT} class="chart-frame" />
        {values.length === 1 ? <circle cx={WIDTH} cy={HEIGHT - (last / 100) * HEIGHT} r="2" class="chart-line" /> : <polyline points={path} class="chart-line" fill="none" />}
      </svg>
      <figcaption>
        {props.label} <strong>{last.toFixed(0)} %</strong> <span class="muted">({values.length} points)</span>
      </figcaption>
    </figure>
  );
}
