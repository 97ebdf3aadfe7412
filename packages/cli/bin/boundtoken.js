#!/usr/bin/env node
// The installed `boundtoken` command: runs the compiled CLI (`npm run build` produces it).
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2));
