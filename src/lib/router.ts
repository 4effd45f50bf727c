import type { Result, Router } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";

/** How many (method, path) answers the router keeps: the hot paths of an API, and room for ids. */
const MATCHES_MAX = 2_000;

/**
 * Hono's TrieRouter with a cache of its answers by method and path. Hono's RegExpRouter cannot
 * take this API's routes (a static segment and a parameter at the same place, `/users/import`
 * beside `/users/:id`), so SmartRouter falls back to the trie, which walks its nodes and sorts
 * every handler set that matches (global middleware, each route's markers and validators) on
 * every request. The routes are fixed once the app is built, and a match depends only on method
 * and path, so the answer for a path seen before is the one computed then: a Map lookup. The
 * answers are only read (by Hono's dispatch and `matchedRoutes`). Insertion order makes the Map
 * a FIFO: the oldest answer goes when it is full, so paths with ids cannot grow it without bound.
 */
export class CachedTrieRouter<T> implements Router<T> {
  name = "CachedTrieRouter";
  #trie = new TrieRouter<T>();
  #matches = new Map<string, Result<T>>();

  /** How many answers are kept (at most MATCHES_MAX). */
  get cachedAnswers(): number {
    return this.#matches.size;
  }

  add(method: string, path: string, handler: T): void {
    this.#matches.clear();
    this.#trie.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    const key = `${method} ${path}`;
    let result = this.#matches.get(key);
    if (result === undefined) {
      result = this.#trie.match(method, path);
      if (this.#matches.size >= MATCHES_MAX) this.#matches.delete(this.#matches.keys().next().value!);
      this.#matches.set(key, result);
    }
    return result;
  }
}
