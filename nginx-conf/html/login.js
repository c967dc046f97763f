// The login page's script (login.html). It never writes HTML: return_to goes into the form as a
// field value, and the message is one of a few fixed texts, chosen by the address.
"use strict";
(function () {
  var params = new URLSearchParams(window.location.search);

  // jwt_login_page sent the browser here as /login.html?return_to=<the page it asked for>.
  // Posted back with the form; nginx redirects there only if it is a local path.
  var back = params.get("return_to");
  if (back !== null) {
    document.getElementById("return_to").value = back;
  }

  var message = document.getElementById("message");
  function show(text, kind) {
    message.textContent = text;
    message.className = kind;
    message.hidden = false;
  }
  // jwt_login_redirect ... failure=/login.html?error=failed: the app refused the login.
  if (params.has("error")) {
    show("Wrong username or password.", "error");
  } else if (params.has("logged_out")) {
    show("You are logged out.", "info");
  }
})();
