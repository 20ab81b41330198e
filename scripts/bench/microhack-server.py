#!/usr/bin/python3
"""A micro-hack-style server for `npm run bench` (scripts/bench/microhack.ts).

Speaks only what a micro-hack server speaks: `connected` (no `protocol`), then `command` frames.
It never sends `registered` (unless --send-registered, for agents that wait for it) and never
acks. Once one agent has connected and sent `register`, it runs the phases in order and prints
one JSON line with the numbers, then exits:

  (--idle-s) wait, so the agent's idle memory can be read; prints {"registered": true} first
  pings      N sequential `ping` round trips (send, wait for the response, next)
  echoes     M `echo` commands with K in flight
  (--pause-s) prints {"echoes_done": true} and waits, so memory after load can be read
  execs      E `exec` commands (data.action = --exec-action) with K in flight

Round trips are timed here, with time.perf_counter_ns, from the send to the response frame.
Needs Debian's python3-websockets (the asyncio API of websockets 10+).
"""
import argparse
import asyncio
import json
import sys
import time

import websockets


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pings", type=int, default=1000)
    parser.add_argument("--echoes", type=int, default=20000)
    parser.add_argument("--execs", type=int, default=0)
    parser.add_argument("--exec-action", default="true")
    parser.add_argument("--in-flight", type=int, default=100)
    parser.add_argument("--send-registered", action="store_true", help="answer register with registered (for agents that need it)")
    parser.add_argument("--idle-s", type=float, default=0.0, help="wait this long after register before the first phase")
    parser.add_argument("--pause-s", type=float, default=0.0, help="wait this long after the echoes (prints echoes_done first)")
    return parser.parse_args()


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, -(-p * len(sorted_values) // 100) - 1))
    return sorted_values[int(index)]


class Session:
    def __init__(self, ws, args):
        self.ws = ws
        self.args = args
        self.waiting = {}
        self.registered = asyncio.get_running_loop().create_future()
        self.counter = 0
        self.frames = {"heartbeat": 0, "job_accepted": 0, "response": 0, "other": 0}
        self.duplicates = 0
        self.answered = set()

    async def reader(self):
        async for raw in self.ws:
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "register":
                if self.args.send_registered:
                    await self.ws.send(json.dumps({"type": "registered", "agent_id": message.get("data", {}).get("agent_id")}))
                if not self.registered.done():
                    self.registered.set_result(message)
                continue
            self.frames[kind if kind in self.frames else "other"] += 1
            if kind != "response":
                continue
            command_id = str(message.get("command_id"))
            if command_id in self.answered:
                self.duplicates += 1
                continue
            self.answered.add(command_id)
            future = self.waiting.pop(command_id, None)
            if future is not None and not future.done():
                future.set_result((time.perf_counter_ns(), message))

    async def command(self, name, data):
        self.counter += 1
        command_id = f"{name}-{self.counter}"
        future = asyncio.get_running_loop().create_future()
        self.waiting[command_id] = future
        started = time.perf_counter_ns()
        await self.ws.send(json.dumps({"type": "command", "command_id": command_id, "command": name, "data": data, "timestamp": now_iso()}))
        finished, message = await future
        return (finished - started) / 1e6, message

    async def sequential(self, count, name, data):
        samples = []
        failed = 0
        for _ in range(count):
            rtt, message = await self.command(name, data)
            samples.append(rtt)
            failed += 0 if message.get("success") else 1
        samples.sort()
        return {"count": count, "failed": failed, "p50_ms": percentile(samples, 50), "p99_ms": percentile(samples, 99), "max_ms": samples[-1] if samples else None}

    async def in_flight(self, count, name, data):
        remaining = count
        failed = 0
        first_error = None

        async def worker():
            nonlocal remaining, failed, first_error
            while remaining > 0:
                remaining -= 1
                _rtt, message = await self.command(name, data)
                if not message.get("success"):
                    failed += 1
                    first_error = first_error or message.get("error")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(max(1, self.args.in_flight))))
        seconds = time.perf_counter() - started
        return {"count": count, "in_flight": self.args.in_flight, "seconds": round(seconds, 3), "per_second": round(count / seconds), "failed": failed, "first_error": first_error}


async def main():
    args = parse_args()
    done = asyncio.get_running_loop().create_future()
    busy = False

    async def handler(ws, _path=None):
        nonlocal busy
        if busy:
            await ws.close(1013, "one agent at a time")
            return
        busy = True
        session = Session(ws, args)
        reader = asyncio.create_task(session.reader())
        await ws.send(json.dumps({"type": "connected", "message": "Agent connection established", "agent_key_id": "bench-key",
                                  "permissions": ["ping", "echo", "info", "exec"], "timestamp": now_iso()}))
        try:
            await asyncio.wait_for(session.registered, 30)
            print(json.dumps({"registered": True}), flush=True)
            await asyncio.sleep(args.idle_s)
            result = {"pings": await session.sequential(args.pings, "ping", {})}
            if args.echoes:
                result["echoes"] = await session.in_flight(args.echoes, "echo", {"message": "bench"})
            print(json.dumps({"echoes_done": True}), flush=True)
            await asyncio.sleep(args.pause_s)
            if args.execs:
                result["execs"] = await session.in_flight(args.execs, "exec", {"action": args.exec_action})
            result["frames"] = session.frames
            result["duplicate_responses"] = session.duplicates
            if not done.done():
                done.set_result(result)
        except Exception as error:  # reported, never a hang
            if not done.done():
                done.set_exception(error)
        finally:
            reader.cancel()

    async with websockets.serve(handler, "127.0.0.1", 0, max_size=16 * 1024 * 1024) as server:
        port = server.sockets[0].getsockname()[1]
        print(json.dumps({"listening": port}), flush=True)
        result = await done
        print(json.dumps({"result": result}), flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
