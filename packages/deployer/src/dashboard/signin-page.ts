import { escapeHtml } from './html.js';

/** What the sign-in form shows. */
export interface SignInView {
  /** Where to go once signed in (a path on this site). */
  next: string;
  /** The user name typed before, shown again. */
  user?: string;
  /** Why the last attempt failed. */
  error?: string;
}

/** The dashboard's sign-in page: a plain form that works without JavaScript, every value escaped. */
export function signInPage(view: SignInView): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Swarmlet</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body class="signin">
<main>
<form method="post" action="/signin" class="card">
<h1>Swarmlet</h1>
<p class="muted">Sign in with the platform user (the one of <code>docker login</code>).</p>
${view.error ? `<p class="error" role="alert">${escapeHtml(view.error)}</p>` : ''}
<label>User <input name="user" autocomplete="username" required autofocus value="${escapeHtml(view.user ?? '')}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<input type="hidden" name="next" value="${escapeHtml(view.next)}">
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`;
}
