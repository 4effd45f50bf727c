// Progress on stderr: on a terminal one bar redrawn in place (done, rate, ETA); otherwise one plain
// line per step, so logs and CI show where a long import is. Hand-written rather than a dependency: one line of text and "\r" is all it needs.

const REDRAW_MS = 100;

/** `1:02:03` or `2:03` for a number of seconds. */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

const number = (n) => n.toLocaleString("en-US");

/**
 * @param {{ stream: NodeJS.WritableStream & { isTTY?: boolean, columns?: number }, label: string,
 *   now?: () => number }} options; set `total` (records to go through) once it is known
 */
export function createProgress({ stream, label, now = () => Date.now() }) {
  const started = now();
  const tty = Boolean(stream.isTTY);
  let lastDraw = 0;
  let drawn = false;

  function summary({ done, failed }, total, base) {
    const seconds = (now() - started) / 1000;
    const rate = seconds > 0 ? (done - base) / seconds : 0;
    const fraction = total ? Math.min(1, done / total) : null;
    const eta = total && rate > 0 ? (total - done) / rate : Number.NaN;
    const parts = [`${number(done)}${total ? ` of ${number(total)}` : ""} users`, `${number(Math.round(rate))} users/s`];
    if (fraction !== null) parts.push(`ETA ${formatDuration(eta)}`);
    if (failed) parts.push(`${number(failed)} failed`);
    return { fraction, text: parts.join(" · ") };
  }

  return {
    /** @type {number | undefined} */
    total: undefined,
    /** Records already done before this run (a resume): not counted in the rate. */
    base: 0,
    /** @param {{ done: number, failed: number }} state records gone through, items failed */
    update(state, { force = false } = {}) {
      const { fraction, text } = summary(state, this.total, this.base);
      if (!tty) {
        stream.write(`${label}: ${fraction !== null ? `${Math.floor(fraction * 100)}% · ` : ""}${text}\n`);
        return;
      }
      if (!force && now() - lastDraw < REDRAW_MS) return;
      lastDraw = now();
      const columns = stream.columns ?? 100;
      // The bar gives way to the figures on a narrow terminal.
      const width = Math.max(8, Math.min(24, columns - 1 - `${label} [] 100% ${text}`.length));
      const filled = fraction === null ? 0 : Math.round(fraction * width);
      const bar = fraction === null ? "" : `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% `;
      const line = `${label} ${bar}${text}`.slice(0, columns - 1);
      stream.write(`\r\x1b[2K${line}`);
      drawn = true;
    },
    /** Leaves the bar's line before other output (a message, the summary). */
    clear() {
      if (tty && drawn) stream.write("\r\x1b[2K");
      drawn = false;
    },
    done() {
      if (tty && drawn) stream.write("\n");
      drawn = false;
    },
  };
}
