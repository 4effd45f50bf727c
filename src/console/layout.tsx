import type { Child } from "hono/jsx";
import { raw } from "hono/html";
import type { Caller } from "./caller";
import { ASSET_VERSION } from "./assets";

export type Section = "users" | "roles" | "api-keys" | "events" | "webhooks" | "account";

const NAV: { section: Section; href: string; label: string }[] = [
  { section: "users", href: "/console/users", label: "Users" },
  { section: "roles", href: "/console/roles", label: "Roles" },
  { section: "api-keys", href: "/console/api-keys", label: "API keys" },
  { section: "events", href: "/console/events", label: "Events" },
  { section: "webhooks", href: "/console/webhooks", label: "Webhooks" },
];

export interface LayoutProps {
  title: string;
  /** Absent on the pages before a session exists (sign-in). */
  caller?: Caller;
  section?: Section;
  children?: Child;
}

/** The HTML document every console page shares: head, navigation, "Sign out", main. */
export function Layout({ title, caller, section, children }: LayoutProps) {
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <link rel="icon" href="data:," />
        <title>{`${title} · userplane console`}</title>
        <link rel="stylesheet" href={`/console/assets/console.css?v=${ASSET_VERSION}`} />
        <script src={`/console/assets/console.js?v=${ASSET_VERSION}`} defer></script>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        {caller ? <TopBar caller={caller} section={section} /> : null}
        <main id="main">{children}</main>
      </body>
      </html>
    </>
  );
}

function TopBar({ caller, section }: { caller: Caller; section?: Section }) {
  return (
    <header class="top">
      <a class="brand" href="/console/users">
        userplane
      </a>
      <nav class="main" aria-label="Console">
        <ul>
          {NAV.map((item) => (
            <li>
              <a href={item.href} aria-current={item.section === section ? "page" : undefined}>
                {item.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="who">
        <span>{caller.user.display_name}</span>
        <SignOut />
      </div>
    </header>
  );
}

export function SignOut() {
  return (
    <form method="post" action="/console/sign-out">
      <button type="submit">Sign out</button>
    </form>
  );
}
