#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

/**
 * The entry point. It sets the V8 heap's tuning before anything else is loaded, then runs the command line.
 * `--semi-space-growth-factor=1` keeps the young generation at its initial 1 MiB semi-spaces instead of letting it
 * grow to 16 MiB under load; garbage is then collected more often, in smaller scavenges. Measured on this machine
 * over the registry benchmark's pushes, pulls and 4000 manifest GETs: idle RSS 74 → 65 MiB, peak 140 → 102 MiB.
 * The factor is read whenever the young generation would grow, so setting it here takes effect.
 */
setFlagsFromString('--semi-space-growth-factor=1');
const { runCommandLine } = await import('./commands.js');
runCommandLine();
