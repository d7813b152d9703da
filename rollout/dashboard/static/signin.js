// Sign-in with a token: exchanged at POST /admin/session for an HttpOnly session cookie.
// Without JavaScript the form posts itself and the server answers with a redirect.

const form = document.getElementById("signin-form");
const error = document.getElementById("signin-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const token = document.getElementById("token").value;
  const response = await fetch("/admin/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ token }),
  });
  if (response.ok) {
    window.location.assign("/admin/ui");
    return;
  }
  let body = {};
  try { body = await response.json(); } catch { body = {}; }
  error.textContent = `Sign-in refused: ${body.error || response.statusText}.`;
  error.hidden = false;
  document.getElementById("token").select();
});
