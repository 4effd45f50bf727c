import { theme, type Palette } from "./theme";

const variables = (p: Palette) =>
  Object.entries(p)
    .map(([k, v]) => `--${k.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`)}:${v};`)
    .join("");

/** The one stylesheet, served by the worker itself (the CSP allows no other origin). */
export const STYLESHEET = `
:root{${variables(theme.light)}color-scheme:light dark;}
@media (prefers-color-scheme: dark){:root{${variables(theme.dark)}}}
*{box-sizing:border-box}
html{font-family:${theme.font};font-size:14px;line-height:1.45;background:var(--bg);color:var(--text);-webkit-text-size-adjust:100%}
body{margin:0}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px;border-radius:3px}
.skip{position:absolute;left:-999px;top:0;background:var(--surface);padding:8px;z-index:10}
.skip:focus{left:8px}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
header.top{display:flex;align-items:center;gap:16px;flex-wrap:wrap;padding:8px 20px;background:var(--surface);border-bottom:1px solid var(--border)}
.brand{font-weight:700;font-size:15px;color:var(--text);text-decoration:none;margin-right:8px}
nav.main ul{display:flex;gap:2px;list-style:none;margin:0;padding:0;flex-wrap:wrap}
nav.main a{display:block;padding:6px 10px;border-radius:6px;color:var(--text);text-decoration:none}
nav.main a:hover{background:var(--surface-alt)}
nav.main a[aria-current="page"]{background:var(--accent-soft);color:var(--accent);font-weight:600}
.who{margin-left:auto;display:flex;align-items:center;gap:10px;color:var(--muted)}
.who form{margin:0}
main{max-width:1280px;margin:0 auto;padding:20px}
h1{font-size:20px;margin:0 0 12px}
h2{font-size:15px;margin:0 0 8px}
.page-head{display:flex;align-items:baseline;gap:12px;flex-wrap:wrap;margin-bottom:12px}
.page-head h1{margin:0}
.page-head .actions{margin-left:auto;display:flex;gap:8px}
.count{color:var(--muted)}
.card{background:var(--surface);border:1px solid var(--border);border-radius:8px;padding:16px;margin-bottom:16px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:16px;align-items:start}
.grid>.card{margin-bottom:0}
.grid+.grid{margin-top:16px}
.crumbs{margin:0 0 6px}
.label{font-weight:600}
td a+.badge{margin-left:6px}
.stack>*+*{margin-top:16px}
label{display:block;font-weight:600;margin-bottom:4px}
.field{margin-bottom:12px}
.hint{color:var(--muted);font-size:12.5px;margin-top:3px}
.error-text{color:var(--danger);font-size:12.5px;margin-top:3px}
input[type=text],input[type=email],input[type=password],input[type=search],input[type=url],input[type=date],select,textarea{width:100%;font:inherit;color:var(--text);background:var(--surface);border:1px solid var(--border);border-radius:6px;padding:6px 8px;min-height:32px}
input[readonly]{background:var(--surface-alt);color:var(--muted)}
textarea{font-family:${theme.mono};font-size:12.5px;min-height:200px;resize:vertical}
[aria-invalid="true"]{border-color:var(--danger)!important}
.checks{display:flex;flex-wrap:wrap;gap:6px 14px;border:0;padding:0;margin:0 0 12px}
.checks legend{font-weight:600;margin-bottom:4px;padding:0}
.checks label{display:flex;align-items:center;gap:6px;font-weight:400;margin:0}
.checks input{margin:0;width:16px;height:16px}
.inline{display:flex;align-items:center;gap:8px}
button,.button{font:inherit;font-weight:600;display:inline-flex;align-items:center;gap:6px;min-height:32px;padding:5px 12px;border-radius:6px;border:1px solid var(--border);background:var(--surface);color:var(--text);cursor:pointer;text-decoration:none;white-space:nowrap}
button:hover,.button:hover{background:var(--surface-alt)}
button.primary,.button.primary{background:var(--accent);border-color:var(--accent);color:var(--accent-text)}
button.danger{color:var(--danger);border-color:var(--danger)}
button.danger.solid{background:var(--danger);color:var(--surface)}
button:disabled{opacity:.5;cursor:not-allowed}
button.link{border:0;background:none;padding:0;min-height:0;color:var(--accent);font-weight:400;text-decoration:underline}
.alert{border:1px solid var(--danger);background:var(--danger-soft);color:var(--text);border-radius:6px;padding:10px 12px;margin-bottom:12px}
.alert ul{margin:6px 0 0;padding-left:18px}
.notice{border:1px solid var(--success);background:var(--success-soft);border-radius:6px;padding:10px 12px;margin-bottom:12px}
.secret{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin-top:8px}
.secret code{font-family:${theme.mono};font-size:13px;background:var(--surface-alt);border:1px solid var(--border);border-radius:6px;padding:6px 8px;word-break:break-all}
.filters{display:flex;gap:8px;flex-wrap:wrap;align-items:flex-end;margin-bottom:12px}
.filters .field{margin:0}
.filters .grow{flex:1 1 260px}
.table-wrap{overflow-x:auto;background:var(--surface);border:1px solid var(--border);border-radius:8px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--border);vertical-align:top}
thead th{background:var(--surface-alt);font-size:12.5px;color:var(--muted);font-weight:600;white-space:nowrap;position:sticky;top:0}
thead th a{color:inherit;text-decoration:none}
thead th a:hover{color:var(--accent);text-decoration:underline}
th[aria-sort] a{color:var(--text)}
tbody tr:hover{background:var(--row-hover)}
tbody tr:last-child td{border-bottom:0}
td.nowrap,td time{white-space:nowrap}
.mono{font-family:${theme.mono};font-size:12.5px}
.badge{display:inline-block;font-size:12px;line-height:18px;padding:0 7px;border-radius:9px;border:1px solid var(--border);background:var(--surface-alt);color:var(--text);white-space:nowrap;margin:0 3px 2px 0}
.badge.ok{border-color:var(--success);color:var(--success);background:var(--success-soft)}
.badge.off{border-color:var(--danger);color:var(--danger);background:var(--danger-soft)}
.pager{display:flex;justify-content:space-between;align-items:center;gap:8px;margin-top:10px;flex-wrap:wrap}
.pager form{display:flex;gap:8px;margin:0}
.muted{color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;word-break:break-word}
ul.plain{list-style:none;margin:0;padding:0}
ul.plain li{padding:6px 0;border-bottom:1px solid var(--border);display:flex;gap:8px;align-items:center;flex-wrap:wrap}
ul.plain li:last-child{border-bottom:0}
.row-actions{display:flex;gap:8px;flex-wrap:wrap}
.row-actions form{margin:0}
details>summary{cursor:pointer;font-weight:600}
progress{width:100%;height:10px}
.sign-in{max-width:380px;margin:8vh auto}
.sign-in .brand{display:block;text-align:center;font-size:20px;margin-bottom:16px}
pre.data{font-family:${theme.mono};font-size:12px;margin:0;white-space:pre-wrap;word-break:break-all;max-height:8em;overflow:auto}
@media (max-width:700px){
  main{padding:12px}
  header.top{padding:8px 12px;gap:8px}
  .who{margin-left:0;width:100%;justify-content:space-between}
  .hide-narrow{display:none}
  .page-head .actions{margin-left:0}
}
`;
