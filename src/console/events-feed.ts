import { query, type ApiAnswer, type ConsoleApi } from "./api";
import type { CursorList, EventItem } from "./types";

export interface EventWindow {
  items: EventItem[];
  total: number;
  /** 1 = the newest page. */
  page: number;
  pages: number;
}

/**
 * The feed is oldest first; the console shows it newest first. Page mode gives the total with
 * page_size=1, then the API page that holds the wanted window (the newest page may be short).
 */
export async function newestEvents(api: ConsoleApi, { type, page, pageSize }: { type?: string; page: number; pageSize: number }): Promise<EventWindow | ApiAnswer<unknown>> {
  const head = await api.get<CursorList<EventItem>>(`/v1/events${query({ type, page: 1, page_size: 1 })}`);
  if (!head.ok) return head;
  const total = head.body.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const wanted = Math.min(Math.max(1, page), pages);
  const answer = await api.get<CursorList<EventItem>>(`/v1/events${query({ type, page: pages - wanted + 1, page_size: pageSize })}`);
  if (!answer.ok) return answer;
  return { items: [...answer.body.items].reverse(), total, page: wanted, pages };
}

/** The tenant's latest 100 events that name this user (as `user_id` or as the deleted tree's root). */
export async function recentEventsOf(api: ConsoleApi, userId: string): Promise<EventItem[] | null> {
  const window = await newestEvents(api, { page: 1, pageSize: 100 });
  if (!("items" in window)) return null;
  return window.items.filter((e) => e.data.user_id === userId || e.data.root_user_id === userId).slice(0, 10);
}
