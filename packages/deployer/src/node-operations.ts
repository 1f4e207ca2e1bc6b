import type Docker from 'dockerode';
import { OperationError } from './app-operations.js';
import { findNode, joinDetails, listNodes, updateNode, type NodeSummary } from './docker/nodes.js';

/** The ports a node must reach on the others, as a join names them. */
export const SWARM_PORTS = ['2377/tcp (managers)', '7946/tcp', '7946/udp', '4789/udp'] as const;

/** What a new node runs to join the swarm. */
export interface JoinCommand {
  role: 'worker' | 'manager';
  /** `install.sh --join TOKEN@ADDR:2377`, run from a checkout on the new machine. */
  install: string;
  /** The same with the docker CLI alone. */
  docker: string;
  ports: readonly string[];
  /** Said when the manager's address cannot be reached from another machine. */
  warning?: string;
}

/** Labels the platform places its own services by start with it: changing one moves or stops a core service. */
const RESERVED_PREFIX = 'swarmlet.';
/** A node label key as the engine takes it: printable, no `=` or space, at most 128 characters. */
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

/**
 * The `nodes` verbs: list the swarm's nodes, print the join command, drain/activate a node, set or remove a node
 * label. Every refusal (an unknown node, a reserved label without `force`, draining what the platform needs) is
 * an {@link OperationError} or NoSuchNodeError thrown before anything changes.
 */
export class NodeOperations {
  constructor(private readonly docker: Docker) {}

  /** Every node, managers first. */
  list(): Promise<NodeSummary[]> {
    return listNodes(this.docker);
  }

  /** The command that joins a new machine as `role`, with the ports to open between the nodes. */
  async joinCommand(role: 'worker' | 'manager'): Promise<JoinCommand> {
    const { token, managers } = await joinDetails(this.docker, role);
    const [manager] = managers;
    if (!manager) throw new OperationError('no manager address is known: is this node a swarm manager?');
    const loopback = /^(127\.|\[?::1\]?:)/.test(manager);
    return {
      role,
      install: `sudo ./install.sh --join ${token}@${manager}`,
      docker: `docker swarm join --token ${token} ${manager}`,
      ports: SWARM_PORTS,
      ...(loopback && {
        warning: `this swarm advertises ${manager}, which no other machine reaches: run \`docker swarm leave --force\` and install again with --advertise-addr ADDRESS (a node's address the others reach)`,
      }),
    };
  }

  /**
   * Drains the node (its tasks move to other nodes, none starts there) or makes it active again. Draining the
   * node that holds the registry or the deployer (pinned there by their labels, so they stop), or the last active
   * node, is refused unless `force`.
   * @throws NoSuchNodeError; OperationError as said.
   */
  async setAvailability(name: string, availability: 'active' | 'drain', force: boolean): Promise<NodeSummary> {
    const node = await findNode(this.docker, name);
    if (availability === 'drain' && !force) {
      const pinned = node.holds.filter((core) => core !== 'router');
      if (pinned.length > 0) {
        throw new OperationError(
          `${node.hostname} holds the ${pinned.join(' and ')}, pinned to it by node label: draining it stops them (move them first, see the README, or add --force)`,
        );
      }
      const others = (await listNodes(this.docker)).filter(
        (other) => other.id !== node.id && other.availability === 'active' && other.state === 'ready',
      );
      if (others.length === 0) {
        throw new OperationError(`${node.hostname} is the only active node: draining it stops every app (add --force)`);
      }
    }
    await updateNode(this.docker, node.id, { availability });
    return findNode(this.docker, node.id);
  }

  /**
   * Sets the label `key` to `value` on the node, or removes it when `value` is null. `swarmlet.*` labels place the
   * platform's own services and need `force`.
   * @throws NoSuchNodeError; OperationError for a malformed key or a reserved one without `force`.
   */
  async label(name: string, key: string, value: string | null, force: boolean): Promise<NodeSummary> {
    if (!LABEL_KEY.test(key)) {
      throw new OperationError(
        `invalid label key ${JSON.stringify(key.slice(0, 80))}: letters, digits, '.', '_', '/' and '-', starting with a letter or digit`,
      );
    }
    if (value !== null && (value.length > 1024 || Array.from(value).some((char) => char < ' '))) {
      throw new OperationError('a label value is at most 1024 printable characters');
    }
    if (key.startsWith(RESERVED_PREFIX) && !force) {
      throw new OperationError(
        `${key} is the platform's own label (the registry and deployer are placed by swarmlet.registry and swarmlet.deployer): add --force to change it`,
      );
    }
    const node = await findNode(this.docker, name);
    await updateNode(this.docker, node.id, { labels: { [key]: value } });
    return findNode(this.docker, node.id);
  }
}
