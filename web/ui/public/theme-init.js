// The theme before the editor loads, so a light theme does not flash dark.
// A file, not an inline script: the server's Content-Security-Policy allows
// scripts from 'self' only.
try {
  var t = localStorage.getItem('backplane.theme');
  if (t !== 'light' && t !== 'dark') t = window.matchMedia && window.matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
  document.documentElement.dataset.theme = t;
} catch (e) {
  document.documentElement.dataset.theme = 'dark';
}
