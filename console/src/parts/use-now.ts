// The current time, re-rendered every few seconds so "12 s ago" stays true without new data.
import { useEffect, useState } from 'preact/hooks';

export function useNow(everyMs = 5_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
