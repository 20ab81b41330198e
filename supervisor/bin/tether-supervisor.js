#!/usr/bin/env node
import { launch } from '../../shared/bin/launch.js';

await launch(new URL('../src/main.ts', import.meta.url).href);
