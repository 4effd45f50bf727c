import { describe, expect, it } from "vitest";
import { webhookUrlProblem } from "../src/webhooks/url-rules";
import { api, createTenant, expectProblem } from "./helpers";

/** Every kind of address literal the rules refuse, in the notations a URL may spell it. */
const REFUSED = [
  // scheme and user-info
  "http://example.com/hook",
  "ftp://example.com/hook",
  "javascript:alert(1)",
  "https://user:pass@example.com/hook",
  "https://user@example.com/hook",
  "not a url",
  "/relative/path",
  // localhost and loopback
  "https://localhost/hook",
  "https://LOCALHOST./hook",
  "https://api.localhost/hook",
  "https://127.0.0.1/hook",
  "https://127.1.2.3/hook",
  "https://2130706433/hook", // 127.0.0.1 as one decimal number
  "https://0x7f000001/hook", // … as hex
  "https://0x7f.0.0.1/hook",
  "https://0177.0.0.1/hook", // … with an octal part
  "https://127.1/hook", // … short form
  "https://[::1]/hook",
  "https://[0:0:0:0:0:0:0:1]/hook",
  "https://[::ffff:127.0.0.1]/hook", // IPv4-mapped
  "https://[::ffff:7f00:1]/hook",
  // private, shared, link-local, unspecified, multicast
  "https://10.0.0.1/hook",
  "https://10.255.255.255/hook",
  "https://172.16.0.1/hook",
  "https://172.31.255.255/hook",
  "https://192.168.1.1/hook",
  "https://0xc0a80101/hook", // 192.168.1.1 as hex
  "https://3232235777/hook", // … as decimal
  "https://100.64.0.1/hook",
  "https://169.254.169.254/latest/meta-data", // cloud metadata
  "https://0.0.0.0/hook",
  "https://0/hook",
  "https://224.0.0.1/hook",
  "https://255.255.255.255/hook",
  "https://[::]/hook",
  "https://[fc00::1]/hook", // unique-local
  "https://[fd12:3456::1]/hook",
  "https://[fe80::1]/hook", // link-local
  "https://[ff02::1]/hook", // multicast
  "https://[::ffff:10.0.0.1]/hook",
  "https://[::ffff:a9fe:a9fe]/hook", // 169.254.169.254 mapped
  "https://[64:ff9b::10.0.0.1]/hook", // NAT64 of a private address
  "https://[2002:c0a8:101::1]/hook", // 6to4 of 192.168.1.1
  "https://[::10.0.0.1]/hook", // IPv4-compatible
];

const ACCEPTED = [
  "https://example.com/hook",
  "https://hooks.example.com:8443/a/b?x=1",
  "https://93.184.216.34/hook",
  "https://[2606:4700:4700::1111]/hook",
  "https://172.32.0.1/hook", // just outside 172.16/12
  "https://11.0.0.1/hook",
  "https://localhost.example.com/hook", // a name, not localhost
];

describe("webhook URL rules", () => {
  it("refuse every non-public address literal, whatever its notation", () => {
    for (const url of REFUSED) expect(webhookUrlProblem(url, false), url).not.toBeNull();
  });

  it("accept public https URLs", () => {
    for (const url of ACCEPTED) expect(webhookUrlProblem(url, false), url).toBeNull();
  });

  it("WEBHOOK_ALLOW_INSECURE_URLS lifts only https-only and the localhost / loopback rule", () => {
    for (const url of ["http://example.com/hook", "http://localhost:8817/hook", "http://127.0.0.1:8817/hook", "http://[::1]:8817/x", "http://2130706433/x"]) {
      expect(webhookUrlProblem(url, true), url).toBeNull();
    }
    for (const url of ["ftp://example.com/x", "http://u:p@localhost/x", "http://10.0.0.1/x", "http://169.254.169.254/x", "http://[fe80::1]/x", "http://[::ffff:192.168.0.1]/x"]) {
      expect(webhookUrlProblem(url, true), url).not.toBeNull();
    }
  });

  it("the API answers each refused URL with 422 invalid_webhook_url naming url, and creates nothing", async () => {
    const { ownerToken } = await createTenant();
    for (const url of REFUSED) {
      const res = await api("POST", "/v1/webhooks", { token: ownerToken, body: { url } });
      const problem = await expectProblem(res, 422, "invalid_webhook_url");
      expect(problem.errors, url).toEqual([{ path: "url", message: expect.any(String), code: "invalid_webhook_url" }]);
    }
    const list = await api("GET", "/v1/webhooks", { token: ownerToken });
    expect((await list.json<{ items: unknown[] }>()).items).toEqual([]);
  });
});
