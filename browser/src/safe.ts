// Every way into parcours.js (its calls, timers, listeners, promise callbacks) goes through
// `safe`, so that nothing it does can throw into the host page.

export function safe<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch {
      // Swallowed: a broken tour must not break the app around it.
    }
  };
}
