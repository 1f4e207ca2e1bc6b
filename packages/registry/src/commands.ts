import { parseArgs } from 'node:util';
import { createLogger, readYamlFile, runMain, untilSignal, readStdin } from '@swarmlet/common';
import { loadRegistryConfig, parseDuration, type RegistryConfig } from './config.js';
import { garbageCollect } from './garbage-collect.js';
import { htpasswdLine } from './auth/htpasswd-line.js';
import { checkHealth } from './healthcheck.js';
import { startRegistry } from './server.js';
import { FilesystemDriver } from './storage/filesystem.js';
import { createStores } from './stores.js';

const USAGE = `usage: swarmlet-registry serve [config.yml]
       swarmlet-registry healthcheck [config.yml]
       swarmlet-registry htpasswd USER < password   (prints a bcrypt htpasswd entry)
       swarmlet-registry garbage-collect [config.yml] [--dry-run] [--delete-untagged] [--grace DURATION]

garbage-collect removes blobs that no manifest reaches (with --delete-untagged, also manifests that no tag
reaches). It is safe while the registry serves pushes. Unreachable blobs written or referenced less than
--grace ago (default 1h) are kept: they may belong to a push whose manifest is still to come.`;

class UsageError extends Error {}

/** Runs the `swarmlet-registry` command line (see `USAGE`) and sets the exit code. */
export function runCommandLine(): void {
  runMain('swarmlet-registry', runCommand);
}

async function runCommand([command, ...rest]: string[]): Promise<number> {
  try {
    if (command === 'serve') return await serve(rest);
    if (command === 'garbage-collect') return await collect(rest);
    if (command === 'healthcheck') return await healthcheck(rest);
    if (command === 'htpasswd' && rest.length === 1 && rest[0] !== undefined) {
      process.stdout.write(`${await htpasswdLine(rest[0], await readStdin())}\n`);
      return 0;
    }
    throw new UsageError();
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError && 'code' in error)) throw error;
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
}

function configFrom(path: string | undefined): RegistryConfig {
  return loadRegistryConfig(path === undefined ? {} : readYamlFile(path), process.env);
}

async function serve(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length > 1) throw new UsageError();
  const config = configFrom(positionals[0]);
  const log = createLogger({ name: 'registry', level: config.log.level });
  const registry = await startRegistry(config, log);
  log.info({ signal: await untilSignal() }, 'stopping');
  await registry.close();
  return 0;
}

async function healthcheck(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length > 1) throw new UsageError();
  return (await checkHealth(configFrom(positionals[0]))) ? 0 : 1;
}

async function collect(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      'delete-untagged': { type: 'boolean', default: false },
      grace: { type: 'string', default: '1h' },
    },
  });
  if (positionals.length > 1) throw new UsageError();
  const config = configFrom(positionals[0]);
  const report = await garbageCollect(createStores(new FilesystemDriver(config.storage.filesystem.rootdirectory)), {
    dryRun: values['dry-run'],
    deleteUntagged: values['delete-untagged'],
    gracePeriodMs: parseDuration(values.grace, '--grace'),
  });
  const verb = report.dryRun ? 'would delete' : 'deleted';
  const lines = [
    ...report.manifests.map((manifest) => `${verb} manifest ${manifest.repository}@${manifest.digest}`),
    ...report.blobs.map((blob) => `${verb} blob ${blob.digest} (${blob.size} bytes)`),
  ];
  if (report.kept.length > 0)
    lines.push(`kept ${report.kept.length} unreachable blob(s) younger than the grace period`);
  lines.push(
    `${report.dryRun ? 'would free' : 'freed'} ${report.freedBytes} bytes: ${report.blobs.length} blob(s), ${report.manifests.length} manifest(s)`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
