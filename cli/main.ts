#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { isRequestTimeout } from '../cluster/index.js';
import { ACCEPTED_RATINGS_FORMATS } from '../data/errors.js';
import { integerIn, modelVersion, nodeId, port, seconds, shardNumber } from './args.js';
import { REEL_DIR_ENV } from './cluster-file.js';
import { runClusterUp, MAX_LOCAL_NATS_SERVERS, MAX_LOCAL_NODES, type ClusterUpOptions } from './cluster-up.js';
import { runDrain } from './drain.js';
import { runGateway, type GatewayFlags } from './gateway.js';
import { EVAL_HELP, runEval, type EvalOptions } from './eval.js';
import { CliError, ExitCode } from './exit-codes.js';
import { LOAD_HELP, runLoad, type LoadFlags } from './load.js';
import { withModelOptions } from './model-flags.js';
import { runModelsActivate, runModelsExport, runModelsList, runModelsShow } from './models.js';
import { EXPORT_FORMATS, type ExportFormat } from './models-export.js';
import { runNode } from './node.js';
import { consoleOutput } from './output.js';
import { withClusterOptions } from './settings.js';
import { runShardsBalance, runShardsMove } from './shards.js';
import { runStart, type StartOptions } from './start.js';
import { runStatus } from './status.js';
import { runTrain, withTrainOptions, type TrainFlags } from './train.js';

const out = consoleOutput();
const program = new Command();
program
  .name('reel')
  .description('reel: an actor-model compute cluster that learns and serves recommendations')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride()
  .addHelpText(
    'after',
    `
Exit codes: 0 ok (status: healthy), 1 failed, 2 bad usage, 3 status: degraded, 4 no such node, shard or model version.
With --json, a failure prints {"error": {"code", "message", "exitCode"}} on stdout (the message goes to stderr too).
Settings come from flags, then REEL_* environment variables, then --config FILE (JSON); without a
NATS URL from any of them, from .reel/cluster.json (written by 'reel cluster up' in this folder).`,
  );

/** Runs a command body and ends the process with its exit code. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>) {
  return async (...args: A) => {
    const code = await fn(...args);
    process.exitCode = typeof code === 'number' ? code : ExitCode.Ok;
  };
}

withClusterOptions(
  program
    .command('start')
    .description(
      'run the main job: load ratings into user and title actors, train a model, print sample recommendations, then serve the reel.v1 gRPC API until Ctrl-C; ' +
        'in this process with no NATS needed, or on the cluster at --nats URL with a node of its own',
    ),
  "(default: none: a one-node cluster in this process; .reel/cluster.json is not read)",
)
  .option('--data <path>', 'ratings file of any name, or a MovieLens folder holding u.data, ratings.dat or ratings.csv (default: ../shared/datasets/ml-100k if present)')
  .addOption(new Option('--synthetic', 'use generated ratings instead of MovieLens').conflicts('data'))
  .option('--json', 'print the result as JSON')
  .option('--port <port>', 'gRPC port of the gateway; 0 for any free one', integerIn(0, 65_535), 50051)
  .option('--host <addr>', 'interface the gateway listens on', '127.0.0.1')
  .option('--once', 'print the samples and exit without serving (scripts, tests)')
  .option('--interaction-weights <list>', "weight of each interaction type when a user's row is folded in, as for reel node [REEL_INTERACTION_WEIGHTS]")
  .addHelpText('after', ({ command }) => {
    const text =
      `A ratings file's format is read from its content, not its name: ${ACCEPTED_RATINGS_FORMATS}. UTF-8, LF or CRLF; blank lines are skipped. ` +
      'With --nats (or REEL_NATS_URL, or nats in --config) the job runs on that cluster (--prefix, created if new) with a node of its own in this process, named start-<pid>: ' +
      "other 'reel node' processes may join it and other 'reel gateway' processes serve it; Ctrl-C stops the gateway and hands the node's shards off. " +
      'REEL_* variables of reel node (REEL_SHARD_COUNT, REEL_LEASE_MS, ...) apply to that node; AdminService takes the token in REEL_ADMIN_TOKEN.';
    return `\n${command.createHelp().boxWrap(text, 80)}`;
  })
  .action(action(async (opts: StartOptions) => runStart(opts, out)));

withModelOptions(
  withClusterOptions(
    program
      .command('eval')
      .description('train a model in this process on one ratings file and report RMSE and MAE of its predictions on another; or score a trained version (--model-version) on a file'),
  ),
)
  .option('--train <file>', 'ratings file to train on')
  .requiredOption('--test <file>', 'ratings file to predict')
  .option('--model-version <id>', "score this trained version's latest checkpoint from the cluster (--nats, --prefix) instead of training")
  .option('--tune', 'choose the hyperparameters not given, and the epochs, on a seeded 10% validation part of --train')
  .option('--json', 'print the result as JSON')
  .addHelpText('after', ({ command }) => `\n${command.createHelp().boxWrap(EVAL_HELP, 80)}`)
  .action(action(async (opts: EvalOptions) => runEval(opts, out)));

withClusterOptions(
  program
    .command('load')
    .description('load MovieLens data into a running cluster: ratings into user and title actors, titles and tags into title actors; loading it again changes nothing')
    .requiredOption('--data <path>', 'a MovieLens folder (ml-100k, ml-1m, ml-10m, ml-latest, ml-20m/25m/32m), its titles or tags file, or a ratings file of any name')
    .option('--skip-bad', 'skip lines that cannot be read and count them (the first five are shown), instead of stopping at the first')
    .option('--no-flush', "skip writing every actor's snapshot at the end (faster; a node crash then loses what it applied since its last snapshot)")
    .option('--json', 'print the summary as JSON on stdout')
    .addHelpText('after', ({ command }) => `\n${command.createHelp().boxWrap(LOAD_HELP, 80)}`),
).action(action(async (opts: LoadFlags) => runLoad(opts, out)));

withClusterOptions(
  program
    .command('node')
    .description('run a cluster node: join the cluster on NATS and host user and title actors; SIGTERM/SIGINT drain it (hand every shard off) and exit 0')
    .option('--id <id>', 'node id, one NATS subject token [REEL_NODE_ID]')
    .option('--shard-count <n>', 'shards of a new cluster; must match an existing one [REEL_SHARD_COUNT] (default: 128)')
    .option('--weight <w>', 'relative capacity in placement [REEL_WEIGHT] (default: 1)')
    .option('--metrics-port <port>', 'serve Prometheus metrics at /metrics, liveness at /healthz and readiness at /readyz on this port, bound before the node joins [REEL_METRICS_PORT]')
    .option('--metrics-host <addr>', 'interface the metrics port listens on; 0.0.0.0 for every one [REEL_METRICS_HOST] (default: 127.0.0.1)')
    .option('--kinds <module>', "host the actor kinds an ES module registers (it exports register(system)) instead of reel's user and title actors [REEL_KINDS]")
    .option('--interaction-weights <list>', 'weight of each interaction type when a user\'s row is folded in, TYPE=WEIGHT comma-separated (e.g. PLAY=0.5,COMPLETE=1,IMPRESSION=0); types not named keep their default: RATING 1, THUMBS_DOWN 1, IMPRESSION 0, the others 0.5 [REEL_INTERACTION_WEIGHTS]')
    .option('--events [types]', 'log runtime events as JSON lines: every activation start, end and carry-on and every snapshot write, or only the types named, comma-separated: activation-start, activation-end, activation-carry, snapshot (debugging, tests)')
    .option('--max-reconnects <n>', 'give up (exit 1) after this many failed reconnects to NATS; -1 retries for ever [REEL_MAX_RECONNECTS] (default: -1)')
    .option('--max-ask-deadline-ms <ms>', "longest ask deadline of a new cluster; must match an existing one's [REEL_MAX_ASK_DEADLINE_MS] (default: 30000)")
    .option('--replicas <n>', "replicas of a new cluster's buckets and streams (1-5, at most the NATS servers); must match an existing one's [REEL_REPLICAS] (default: the cluster's; for a new one 3 on a NATS cluster of three or more servers, else 1)")
    .option('--lease-ms <ms>', 'shard lease [REEL_LEASE_MS] (default: 3000; 10000 on a NATS cluster, past a JetStream leader election)')
    .option('--renew-ms <ms>', 'lease renewal interval, at most half the lease [REEL_RENEW_MS] (default: a third of the lease)')
    .option('--safety-margin-ms <ms>', "wait past another node's lease before taking its shard [REEL_SAFETY_MARGIN_MS] (default: 500)")
    .option('--heartbeat-ms <ms>', 'membership heartbeat interval [REEL_HEARTBEAT_MS] (default: 1000)')
    .option('--heartbeat-window-ms <ms>', 'a node whose entry did not change for this long is gone [REEL_HEARTBEAT_WINDOW_MS] (default: 3000; 10000 on a NATS cluster)')
    .option('--reconcile-ms <ms>', 'ownership reconcile interval [REEL_RECONCILE_MS] (default: 100)')
    .option('--probe-ms <ms>', 'probe each shard owner this often for a closed NATS connection, to take over a dead one at once; 0: wait out its lease [REEL_PROBE_MS] (default: 200)')
    .option('--gone-member-removal-ms <ms>', "delete the entry of a node gone (not heartbeating) this long; until then status lists it as gone [REEL_GONE_MEMBER_REMOVAL_MS] (default: 600000)")
    .addHelpText(
      'after',
      `
For tests only: REEL_TEST_CLOCK="wall=+2000,mono=+2000" runs this node with its clocks offset,
and each SIGUSR2 then steps them by REEL_TEST_CLOCK_STEP (e.g. "wall=-3000").`,
    ),
).action(action(async (opts: Record<string, unknown>) => runNode(opts)));

withClusterOptions(
  program
    .command('gateway')
    .description('serve the reel.v1 gRPC API (recommendations, catalog, admin) over a cluster, with health checking and reflection; SIGTERM/SIGINT stop it after the calls in flight')
    .option('--port <port>', 'gRPC port; 0 for any free one', integerIn(0, 65_535), 50051)
    .option('--host <addr>', 'interface to listen on; 0.0.0.0 for every one', '127.0.0.1')
    .option('--budget-ms <ms>', 'latency budget of a personalised Recommend: past it, or on its failure, the popular list answers (fallback = true)', integerIn(1, 60_000), 50)
    .option('--recommend-cache-ms <ms>', "a first page may come from the user actor's last ranking of the same request this recent, if nothing of the user changed since (0: rank every time)", integerIn(0, 3_600_000), 0)
    .option('--metrics-port <port>', 'serve Prometheus metrics at /metrics on this port [REEL_METRICS_PORT]')
    .option('--metrics-host <addr>', 'interface the metrics port listens on [REEL_METRICS_HOST] (default: 127.0.0.1)')
    .addHelpText('after', `
AdminService needs a bearer token: set REEL_ADMIN_TOKEN for the gateway, and send
"authorization: Bearer <token>" metadata. Without REEL_ADMIN_TOKEN every admin call is refused.`),
).action(action(async (opts: GatewayFlags) => runGateway(opts)));

withClusterOptions(
  program
    .command('status')
    .description('show nodes (health, roles, shards, epochs, actors) and shards that are unowned or moving; exit 0 healthy, 3 degraded')
    .option('--json', 'print the report as JSON'),
).action(action(async (opts: Record<string, unknown>) => runStatus(opts, out)));

withTrainOptions(
  withModelOptions(
    withClusterOptions(
      program
        .command('train')
        .description('train a model version across the cluster: one worker per node, parameters in the user and title actors, a checkpoint every epoch'),
    ),
  ),
).action(action(async (opts: TrainFlags) => runTrain(opts, out)));

withClusterOptions(
  program
    .command('drain')
    .description('make NODE hand every shard off and exit; waits until it holds none and has left')
    .argument('<node>', 'node id', nodeId)
    .option('--timeout <seconds>', 'give up after this long', seconds, 120)
    .option('--json', 'print the result as JSON'),
).action(action(async (node: string, opts: Record<string, unknown> & { timeout: number }) => runDrain(node, opts, out)));

const shards = program.command('shards').description('manual shard placement');
withClusterOptions(
  shards
    .command('move')
    .description('pin SHARD to NODE (a stored override) and wait until NODE owns it')
    .argument('<shard>', 'shard number', shardNumber)
    .argument('<node>', 'node id', nodeId)
    .option('--timeout <seconds>', 'give up waiting after this long', seconds, 60)
    .option('--json', 'print the result as JSON'),
).action(action(async (shard: number, node: string, opts: Record<string, unknown> & { timeout: number }) => runShardsMove(shard, node, opts, out)));
withClusterOptions(
  shards
    .command('balance')
    .description('clear every manual placement and wait until every shard is where placement puts it (shards move one handoff at a time)')
    .option('--timeout <seconds>', 'give up waiting after this long', seconds, 120)
    .option('--no-wait', 'return once the placements are cleared')
    .option('--json', 'print the result as JSON'),
).action(action(async (opts: Record<string, unknown> & { timeout: number }) => runShardsBalance(opts, out)));

const MODELS_EXPORT_HELP =
  'Rows are sorted by key (numeric ids in numeric order). manifest.json holds the manifest and, under "export", the checkpoint\'s epoch and metrics, the global mean, the columns and the files.';
const models = program
  .command('models')
  .description("model versions (the cluster's registry) and their checkpoints: list (the default), show, export, activate");
withClusterOptions(
  models
    .command('list', { isDefault: true })
    .description('list model versions: id, model, state, factors, epochs done/asked, key metrics, created (UTC)')
    .option('--json', 'print {active, versions: [manifest…]} as JSON'),
).action(action(async (opts: Record<string, unknown>) => runModelsList(opts, out)));
withClusterOptions(
  models
    .command('show')
    .description("show a version's manifest (hyperparameters, seed, data fingerprint, metrics, state) and its stored checkpoints")
    .argument('<version>', 'model version id', modelVersion)
    .option('--json', 'print {manifest, checkpoints} as JSON'),
).action(action(async (version: string, opts: Record<string, unknown>) => runModelsShow(version, opts, out)));
withClusterOptions(
  models
    .command('export')
    .description("write a version's embeddings, from its latest complete checkpoint, and its manifest into DIR")
    .argument('<version>', 'model version id', modelVersion)
    .requiredOption('--out <dir>', 'directory to write into (created if missing; files of the same names are replaced)')
    .addOption(new Option('--format <format>', 'csv: users.csv and titles.csv (key,bias,f0..); npy: users.npy (float32, columns bias,f0..) with users.keys.txt, and the same for titles').choices(EXPORT_FORMATS).default('csv'))
    .option('--json', 'print what was written as JSON')
    .addHelpText('after', ({ command }) => `\n${command.createHelp().boxWrap(MODELS_EXPORT_HELP, 80)}`),
).action(action(async (version: string, opts: Record<string, unknown> & { out: string; format: ExportFormat }) => runModelsExport(version, opts, out)));
withClusterOptions(
  models
    .command('activate')
    .description('make VERSION (READY, RETIRED or ACTIVE) the active version; the one it replaces becomes RETIRED')
    .argument('<version>', 'model version id', modelVersion)
    .option('--json', 'print {active, previous, manifest} as JSON'),
).action(action(async (version: string, opts: Record<string, unknown>) => runModelsActivate(version, opts, out)));

program
  .command('cluster')
  .description('local development clusters')
  .command('up')
  .description(
    'start nats-server (or --nats-servers M, a NATS cluster; data in DIR) and N reel nodes, logs in DIR/logs, and write DIR/cluster.json so that later commands in this folder find the cluster; ' +
      'Ctrl-C drains the nodes, then stops the server (exit 0 only when every node drained and nothing died)',
  )
  .option('--nodes <n>', `number of nodes, 1-${MAX_LOCAL_NODES}`, integerIn(1, MAX_LOCAL_NODES), 3)
  .option('--dir <dir>', `data and log directory [${REEL_DIR_ENV}] (default: .reel)`)
  .option('--port <port>', 'nats-server client port; server i of --nats-servers listens on this port + i (each must be free)', port, 4222)
  .option('--metrics-port <port>', 'node i serves metrics on this port + i (each must be free)', integerIn(0, 65534), 9400)
  .option('--prefix <name>', 'cluster prefix (default: reel)')
  .option('--nats-servers <n>', `nats-servers to start, 1-${MAX_LOCAL_NATS_SERVERS}: more than one are routed to each other with clustered JetStream, and every node connects to all of them`, integerIn(1, MAX_LOCAL_NATS_SERVERS), 1)
  .option('--route-port <port>', 'server i listens for routes from the other servers on this port + i (default: --port + 2000)', port)
  .option('--replicas <n>', 'replicas of the cluster\'s buckets and streams, at most --nats-servers (default: 3 with three or more servers, else 1)', integerIn(1, 5))
  .option('--secure', 'require TLS (clients and routes; a local CA, made with openssl) and a NATS user per role (node, gateway, operator) with its subject permissions; certificates and credentials files in DIR/secure, and later commands in the folder connect as operator')
  .action(action(async (opts: ClusterUpOptions) => runClusterUp(opts, out)));

/** How JetStream failed to answer, when it did: a request timed out, or the server says it is unavailable (no quorum). */
function jetStreamUnavailable(err: unknown): string | undefined {
  if (isRequestTimeout(err)) return 'a request timed out';
  // JetStream API error 10008, "JetStream system temporarily unavailable".
  if (err instanceof Error && err.name === 'JetStreamApiError' && (err as Error & { code?: unknown }).code === 10008) return `the server says: ${err.message}`;
  return undefined;
}

/**
 * Ends the process on a failure: the message on stderr and, when the command was run with
 * `--json`, a JSON error object on stdout, so that a script reading stdout always gets JSON.
 */
function fail(err: unknown): never {
  let exitCode: number;
  let code: string;
  let message: string;
  const unavailable = jetStreamUnavailable(err);
  if (err instanceof CommanderError) {
    // --help and --version end here with code 0; commander has already printed a usage error.
    if (err.exitCode === 0) process.exit(ExitCode.Ok);
    [exitCode, code, message] = [ExitCode.Usage, 'Usage', err.message.replace(/^error: /, '')];
  } else if (unavailable !== undefined) {
    // nats.js says only "timeout", or the server "temporarily unavailable": say what it likely means.
    [exitCode, code] = [ExitCode.Failed, 'Unavailable'];
    message = `JetStream is unavailable (${unavailable}): on a NATS cluster, a server may be down and its streams still electing a leader; try again in a few seconds`;
    process.stderr.write(`reel: ${message}\n`);
  } else {
    exitCode = err instanceof CliError ? err.exitCode : ExitCode.Failed;
    code = err instanceof CliError ? err.code : 'Failed';
    message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`reel: ${message}\n`);
  }
  if (process.argv.slice(2).includes('--json')) out.json({ error: { code, message, exitCode } });
  process.exit(exitCode);
}

program.parseAsync(process.argv).catch(fail);
