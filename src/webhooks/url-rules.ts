/**
 * Where webhooks may be sent (the SSRF rules): `https` only, no user-info, and no localhost,
 * loopback, private, link-local, unique-local or otherwise non-public address literal, whatever
 * form the literal takes (IPv4 as dotted, decimal, hex or octal numbers; IPv6 including
 * IPv4-mapped, -compatible, NAT64 and 6to4 forms). With WEBHOOK_ALLOW_INSECURE_URLS=true, `http`
 * and localhost / loopback are accepted too; the rest stays refused. Host names are not resolved
 * (a Worker cannot): a public name that points at a private address is the network's to refuse.
 * Checked when an endpoint is created or changed, and again before every delivery attempt.
 */
export const MAX_URL_LENGTH = 2048;

type AddressClass = "public" | "loopback" | "refused";

/** Why `raw` may not receive webhooks, or null when it may. */
export function webhookUrlProblem(raw: string, allowInsecure: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "Not an absolute URL.";
  }
  if (url.protocol !== "https:" && !(allowInsecure && url.protocol === "http:")) {
    return allowInsecure ? "Use an https (or http) URL." : "Use an https URL.";
  }
  if (url.username !== "" || url.password !== "") return "A webhook URL may not carry user-info (user:password@).";
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (host === "") return "The URL has no host.";
  const kind = classifyHost(host);
  if (kind === "public") return null;
  if (kind === "loopback" && allowInsecure) return null;
  return kind === "loopback"
    ? "localhost and loopback addresses are refused (WEBHOOK_ALLOW_INSECURE_URLS is not set)."
    : "Private, link-local, unique-local and other non-public addresses are refused.";
}

function classifyHost(host: string): AddressClass {
  if (host === "localhost" || host.endsWith(".localhost")) return "loopback";
  if (host.startsWith("[") && host.endsWith("]")) {
    const groups = parseIpv6(host.slice(1, -1));
    return groups ? classifyIpv6(groups) : "refused";
  }
  if (endsInNumber(host)) {
    const v4 = parseIpv4(host);
    return v4 === null ? "refused" : classifyIpv4(v4);
  }
  return "public";
}

/** WHATWG: a host whose last label is a number (decimal or 0x…) is an IPv4 address. */
function endsInNumber(host: string): boolean {
  const last = host.split(".").at(-1) ?? "";
  return /^(\d+|0x[0-9a-f]*)$/i.test(last);
}

/** The WHATWG IPv4 parser: 1–4 parts, each decimal, 0x-hex or 0-octal; the last fills the rest. */
function parseIpv4(host: string): number | null {
  const parts = host.split(".");
  if (parts.length > 4) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(part)) n = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) n = parseInt(part.slice(1), 8);
    else if (/^\d+$/.test(part)) n = parseInt(part, 10);
    else return null;
    numbers.push(n);
  }
  const last = numbers.pop()!;
  if (numbers.some((n) => n > 255) || last >= 256 ** (4 - numbers.length)) return null;
  return numbers.reduce((acc, n, i) => acc + n * 256 ** (3 - i), 0) + last;
}

function classifyIpv4(address: number): AddressClass {
  const inRange = (base: string, bits: number) => {
    const b = parseIpv4(base)!;
    const size = 2 ** (32 - bits);
    return address >= b && address < b + size;
  };
  if (inRange("127.0.0.0", 8)) return "loopback";
  const refused: [string, number][] = [
    ["0.0.0.0", 8], // "this network"
    ["10.0.0.0", 8],
    ["100.64.0.0", 10], // shared address space (carrier-grade NAT)
    ["169.254.0.0", 16], // link-local
    ["172.16.0.0", 12],
    ["192.0.0.0", 24], // IETF protocol assignments
    ["192.168.0.0", 16],
    ["198.18.0.0", 15], // benchmarking
    ["224.0.0.0", 4], // multicast
    ["240.0.0.0", 4], // reserved, broadcast
  ];
  return refused.some(([base, bits]) => inRange(base, bits)) ? "refused" : "public";
}

/** Eight 16-bit groups, or null when `text` is not an IPv6 address. */
function parseIpv6(text: string): number[] | null {
  let s = text.toLowerCase();
  if (s.includes("%")) return null; // a zone id is never a public destination
  let tail: number[] = [];
  const dotted = s.match(/^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(2).map(Number) as [number, number, number, number];
    if ([a, b, c, d].some((p) => p > 255)) return null;
    tail = [(a << 8) | b, (c << 8) | d];
    s = dotted[1]!.endsWith("::") ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const read = (part: string) => (part === "" ? [] : part.split(":"));
  const head = read(halves[0]!);
  const rest = halves.length === 2 ? read(halves[1]!) : [];
  if (![...head, ...rest].every((group) => /^[0-9a-f]{1,4}$/.test(group))) return null;
  const count = head.length + rest.length + tail.length;
  if (halves.length === 1 ? count !== 8 : count > 7) return null;
  const hex = (groups: string[]) => groups.map((group) => parseInt(group, 16));
  return [...hex(head), ...new Array<number>(halves.length === 2 ? 8 - count : 0).fill(0), ...hex(rest), ...tail];
}

function classifyIpv6(g: number[]): AddressClass {
  const embeddedV4 = (hi: number, lo: number) => classifyIpv4(hi * 65536 + lo);
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(7) && g[7] === 1) return "loopback";
  if (zeroUpTo(8)) return "refused"; // unspecified
  if (zeroUpTo(5) && g[5] === 0xffff) return embeddedV4(g[6]!, g[7]!); // IPv4-mapped
  if (zeroUpTo(6)) return embeddedV4(g[6]!, g[7]!); // IPv4-compatible (deprecated)
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return embeddedV4(g[6]!, g[7]!); // NAT64
  if (g[0] === 0x2002) return embeddedV4(g[1]!, g[2]!); // 6to4
  if ((g[0]! & 0xfe00) === 0xfc00) return "refused"; // unique-local fc00::/7
  if ((g[0]! & 0xffc0) === 0xfe80) return "refused"; // link-local fe80::/10
  if ((g[0]! & 0xffc0) === 0xfec0) return "refused"; // site-local (deprecated)
  if ((g[0]! & 0xff00) === 0xff00) return "refused"; // multicast
  return "public";
}
