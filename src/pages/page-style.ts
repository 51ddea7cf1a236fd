/*
 * The pages' one stylesheet, served by the Worker (the pages' CSP allows styles from 'self' only,
 * nothing inline). Colours hold WCAG AA contrast (4.5:1 for text) in light and dark schemes; the
 * layout is one column that fits a 320-pixel-wide phone without sideways scrolling.
 */
export const PAGE_STYLE = `:root {
  color-scheme: light dark;
  --page: #f4f4f5;
  --card: #ffffff;
  --text: #18181b;
  --muted: #52525b;
  --line: #e4e4e7;
  --accent: #1d4ed8;
  --on-accent: #ffffff;
  --focus: #b45309;
}
@media (prefers-color-scheme: dark) {
  :root {
    --page: #18181b;
    --card: #27272a;
    --text: #f4f4f5;
    --muted: #d4d4d8;
    --line: #3f3f46;
    --accent: #93c5fd;
    --on-accent: #18181b;
    --focus: #fbbf24;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0;
  padding: 1rem;
  background: var(--page);
  color: var(--text);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  font-size: 1rem;
  line-height: 1.5;
}
main {
  max-width: 34rem;
  margin: 2rem auto;
  padding: 1.5rem;
  background: var(--card);
  border-radius: 0.5rem;
  overflow-wrap: anywhere;
}
h1 { margin: 0 0 1rem; font-size: 1.5rem; line-height: 1.25; }
h2 { margin: 0 0 0.5rem; font-size: 1.125rem; line-height: 1.3; }
p { margin: 0 0 1rem; }
.muted { color: var(--muted); font-size: 0.9375rem; }
dl { margin: 0 0 1.5rem; border-top: 1px solid var(--line); }
dl div { display: flex; flex-wrap: wrap; gap: 0 1rem; padding: 0.625rem 0; border-bottom: 1px solid var(--line); }
dt { flex: 0 0 8rem; color: var(--muted); }
dd { flex: 1 1 12rem; margin: 0; font-weight: 600; }
.button {
  display: inline-block;
  min-height: 2.75rem;
  padding: 0.625rem 1.5rem;
  border: 2px solid var(--accent);
  border-radius: 0.375rem;
  background: var(--accent);
  color: var(--on-accent);
  font: inherit;
  font-weight: 600;
  line-height: 1.5;
  text-decoration: none;
  cursor: pointer;
}
.button:hover { text-decoration: underline; }
.button.secondary { border-color: var(--muted); background: transparent; color: var(--text); }
a:focus-visible, button:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; margin: 0 0 1rem; }
form { margin: 0; }
@media (max-width: 30rem) {
  body { padding: 0; }
  main { margin: 0; min-height: 100vh; border-radius: 0; }
  .actions { flex-direction: column; }
  .button { display: block; width: 100%; text-align: center; }
}
`;
