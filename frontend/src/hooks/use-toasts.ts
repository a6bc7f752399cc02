import { useCallback, useRef, useState } from "react";

export type Toast = { id: number; message: string };

const TOAST_MS = 6000;

export function useToasts() {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((all) => all.filter((t) => t.id !== id)), []);
  const notify = useCallback(
    (message: string) => {
      const id = next.current++;
      // The same complaint twice in a row is one toast.
      setToasts((all) => (all.some((t) => t.message === message) ? all : [...all.slice(-2), { id, message }]));
      window.setTimeout(() => dismiss(id), TOAST_MS);
    },
    [dismiss],
  );
  return { toasts, notify, dismiss };
}
