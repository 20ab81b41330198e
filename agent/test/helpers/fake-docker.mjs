#!/usr/bin/env node
// Stands in for the docker CLI: records its argv in $FAKE_DOCKER_LOG and prints the container name.
import { appendFileSync } from 'node:fs';

appendFileSync(process.env.FAKE_DOCKER_LOG, `${JSON.stringify(process.argv.slice(2))}\n`);
process.stdout.write(`${process.argv.at(-1)}\n`);
