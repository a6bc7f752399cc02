import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { toWebSocketUrl } from "../../../lib/config";
import { parseLiveMessage, type LiveMessage } from "./live-reducer";

export type ConnectionState = "connecting" | "live" | "reconnecting" | "offline";

export type BackoffOptions = { initialMs: number; maxMs: number; random: () => number };

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 10_000, random: Math.random };
/** Failed attempts in a row after which the indicator says Offline (it keeps trying). */
const OFFLINE_AFTER = 4;

/** 0.5 s doubling to 10 s, then "full jitter" between half and all of it so clients do not retry in step. */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (ceiling / 2) * options.random());
}

type Options = {
  apiUrl: string;
  minutes: number;
  pipeline: string;
  branch: string;
  onMessage: (message: LiveMessage) => void;
  /** Called when a connection opens after an earlier one was lost: reload what was missed. */
  onReconnected: () => void;
  backoff?: BackoffOptions;
};

/** Keeps WS /ws/metrics open for the given filters, reconnecting with backoff; a new filter means a new socket. */
export function useLiveMetrics({ apiUrl, minutes, pipeline, branch, onMessage, onReconnected, backoff }: Options): ConnectionState {
  const key = JSON.stringify([apiUrl, minutes, pipeline, branch]);
  // State is tagged with the subscription it describes: a new one reads "connecting" until its socket speaks.
  const [connection, setConnection] = useState<{ key: string; state: ConnectionState }>({ key, state: "connecting" });
  // The socket outlives renders; it reads the latest callbacks through a ref instead of reconnecting.
  const handlers = useRef({ onMessage, onReconnected, backoff: backoff ?? DEFAULT_BACKOFF });
  useLayoutEffect(() => {
    handlers.current = { onMessage, onReconnected, backoff: backoff ?? DEFAULT_BACKOFF };
  });

  useEffect(() => {
    const url = toWebSocketUrl(apiUrl, "/ws/metrics", { minutes: String(minutes), pipeline, branch });
    let socket: WebSocket | null = null;
    let timer: number | undefined;
    let attempt = 0;
    let everOpened = false;
    let stopped = false;
    const setState = (state: ConnectionState) =>
      setConnection({ key: JSON.stringify([apiUrl, minutes, pipeline, branch]), state });

    const connect = () => {
      if (stopped) return;
      socket = new WebSocket(url);
      socket.onopen = () => {
        setState("live");
        if (everOpened) handlers.current.onReconnected();
        everOpened = true;
        attempt = 0;
      };
      socket.onmessage = (event: MessageEvent) => {
        if (typeof event.data !== "string") return;
        const message = parseLiveMessage(event.data);
        if (message) handlers.current.onMessage(message);
      };
      socket.onclose = (event: CloseEvent) => {
        socket = null;
        if (stopped) return;
        // 1008: the server refuses these parameters; retrying cannot help.
        if (event.code === 1008) {
          setState("offline");
          return;
        }
        const offline = attempt >= OFFLINE_AFTER || (typeof navigator !== "undefined" && navigator.onLine === false);
        setState(offline ? "offline" : "reconnecting");
        timer = window.setTimeout(connect, backoffDelay(attempt, handlers.current.backoff));
        attempt += 1;
      };
    };

    const retryNow = () => {
      if (socket || stopped) return;
      window.clearTimeout(timer);
      attempt = 0;
      connect();
    };
    window.addEventListener("online", retryNow);
    connect();

    return () => {
      stopped = true;
      window.removeEventListener("online", retryNow);
      window.clearTimeout(timer);
      if (socket) {
        socket.onclose = null;
        socket.close(1000, "filters changed");
      }
    };
  }, [apiUrl, minutes, pipeline, branch]);

  return connection.key === key ? connection.state : "connecting";
}
