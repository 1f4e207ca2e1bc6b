/** What a Traefik router rule says about the hosts it answers for. */
export interface RuleHosts {
  /** Every host named by a `Host`, `HostHeader` or `HostSNI` matcher, lower-cased, without a trailing dot. */
  hosts: string[];
  /**
   * Whether the rule matches only requests for hosts in {@link hosts}: every alternative (`||`) has such a matcher
   * in its conjunction (`&&`), with no negation and no wildcard (`HostSNI(\`*\`)`).
   */
  restricted: boolean;
  /** Whether a `HostRegexp` or `HostSNIRegexp` matcher appears. */
  regexp: boolean;
}

/** A router, service or middleware that Traefik labels define: `traefik.<protocol>.<kind>.<name>.…`. */
export interface TraefikObject {
  protocol: string;
  kind: string;
  name: string;
}

const HOST_MATCHERS = new Set(['host', 'hostheader', 'hostsni']);
const REGEXP_MATCHERS = /\b(?:HostRegexp|HostSNIRegexp)\s*\(/i;
const OBJECT_LABEL = /^traefik\.(http|tcp|udp)\.(routers|services|middlewares|serverstransports)\.([^.]+)\.(.+)$/i;
const RULE_LABEL = /^traefik\.(?:http|tcp)\.routers\.([^.]+)\.rule$/i;

/**
 * Reads the hosts a Traefik v3 rule answers for, e.g. ``Host(`a.test`, `b.test`)`` or
 * ``Host(`a.test`) || (Host(`b.test`) && PathPrefix(`/api`))``. Pure; never throws (an unreadable rule is not
 * restricted).
 */
export function ruleHosts(rule: string): RuleHosts {
  const hosts: string[] = [];
  const restricted = !rule.includes('!') && restrictedTo(rule, hosts);
  for (const match of rule.matchAll(/\b(\w+)\s*\(([^)]*)\)/g)) {
    if (!HOST_MATCHERS.has((match[1] ?? '').toLowerCase())) continue;
    for (const host of literals(match[2] ?? '')) {
      const normal = normalizeHost(host);
      if (!hosts.includes(normal)) hosts.push(normal);
    }
  }
  return { hosts, restricted, regexp: REGEXP_MATCHERS.test(rule) };
}

/** A host name as routers compare it: lower case, no trailing dot. */
export function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

/** The router rules among `labels`, by router name. */
export function routerRules(
  labels: Readonly<Record<string, string>>,
): { router: string; label: string; rule: string }[] {
  const rules: { router: string; label: string; rule: string }[] = [];
  for (const [label, rule] of Object.entries(labels)) {
    const match = RULE_LABEL.exec(label);
    if (match?.[1] !== undefined) rules.push({ router: match[1], label, rule });
  }
  return rules;
}

/** The Traefik object a label defines a part of, if it is such a label. */
export function traefikObject(label: string): TraefikObject | undefined {
  const match = OBJECT_LABEL.exec(label);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  return { protocol: match[1].toLowerCase(), kind: match[2].toLowerCase(), name: match[3] };
}

/** `http router web`, as messages name a Traefik object. */
export function describeObject(object: TraefikObject): string {
  return `${object.protocol} ${object.kind.replace(/s$/, '')} ${object.name}`;
}

/** Whether the expression matches only hosts named by a host matcher, adding those hosts to `found`. */
function restrictedTo(expression: string, found: string[]): boolean {
  const inner = unwrap(expression.trim());
  const alternatives = splitTopLevel(inner, '||');
  if (alternatives.length > 1) return alternatives.every((part) => restrictedTo(part, found));
  const conjuncts = splitTopLevel(inner, '&&');
  if (conjuncts.length > 1) return conjuncts.some((part) => restrictedTo(part, found));
  const call = /^(\w+)\s*\(([^)]*)\)$/.exec(inner);
  if (!call || !HOST_MATCHERS.has((call[1] ?? '').toLowerCase())) return false;
  const hosts = literals(call[2] ?? '');
  return hosts.length > 0 && hosts.every((host) => host.trim() !== '' && !host.includes('*'));
}

/** Removes parentheses that enclose the whole expression. */
function unwrap(expression: string): string {
  let text = expression;
  while (text.startsWith('(') && text.endsWith(')') && closingOf(text, 0) === text.length - 1) {
    text = text.slice(1, -1).trim();
  }
  return text;
}

function closingOf(text: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let index = open; index < text.length; index++) {
    const char = text[index];
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === '`' || char === '"' || char === "'") quote = char;
    else if (char === '(') depth++;
    else if (char === ')' && --depth === 0) return index;
  }
  return -1;
}

/** Splits on `operator` outside parentheses and quotes. */
function splitTopLevel(expression: string, operator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let index = 0; index < expression.length; index++) {
    const char = expression[index];
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === '`' || char === '"' || char === "'") quote = char;
    else if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (depth === 0 && expression.startsWith(operator, index)) {
      parts.push(expression.slice(start, index).trim());
      start = index + operator.length;
      index += operator.length - 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts;
}

/** The quoted strings (backquotes, double or single quotes) in a matcher's arguments. */
function literals(args: string): string[] {
  return [...args.matchAll(/`([^`]*)`|"([^"]*)"|'([^']*)'/g)].map((match) => match[1] ?? match[2] ?? match[3] ?? '');
}
