// Passkeys and security keys (WebAuthn), loaded only by the pages that offer them. Each such page has a form
// marked data-webauthn="register" or "authenticate", hidden until this script finds the browser able to use
// it; without JavaScript or WebAuthn the page keeps showing its other routes (authenticator app, recovery code).
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-webauthn]");
  if (!forms.length || !window.PublicKeyCredential || !navigator.credentials) return;

  function toBuffer(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer), binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBuffers(descriptors) {
    return (descriptors || []).map(function (descriptor) {
      return Object.assign({}, descriptor, { id: toBuffer(descriptor.id) });
    });
  }

  // The server's JSON options (base64url strings) as the browser API wants them (ArrayBuffers).
  function creationOptions(options) {
    return Object.assign({}, options, {
      challenge: toBuffer(options.challenge),
      user: Object.assign({}, options.user, { id: toBuffer(options.user.id) }),
      excludeCredentials: withBuffers(options.excludeCredentials)
    });
  }

  function requestOptions(options) {
    return Object.assign({}, options, {
      challenge: toBuffer(options.challenge),
      allowCredentials: withBuffers(options.allowCredentials)
    });
  }

  // The browser's answer as JSON (base64url strings), the shape py_webauthn reads.
  function credentialJSON(credential) {
    var response = credential.response, json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      if (response.userHandle) json.response.userHandle = toBase64url(response.userHandle);
    }
    return json;
  }

  function post(url, token, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || "");
          error.fromServer = Boolean(data.error);
          throw error;
        }
        return data;
      });
    });
  }

  forms.forEach(function (form) {
    var mode = form.dataset.webauthn;
    var error = form.querySelector("[data-webauthn-error]");
    var token = form.querySelector("[name=csrfmiddlewaretoken]").value;
    var name = form.querySelector("[name=name]");
    var busy = false;
    document.querySelectorAll("[data-webauthn-fallback]").forEach(function (notice) { notice.hidden = true; });
    form.hidden = false;

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) return;
      busy = true;
      error.hidden = true;
      post(form.dataset.optionsUrl, token, { name: name ? name.value : "" })
        .then(function (options) {
          return mode === "register"
            ? navigator.credentials.create({ publicKey: creationOptions(options) })
            : navigator.credentials.get({ publicKey: requestOptions(options) });
        })
        .then(function (credential) {
          return post(form.action, token, { credential: credentialJSON(credential), name: name ? name.value : "" });
        })
        .then(function (data) { window.location.assign(data.redirect); })
        .catch(function (failure) {
          busy = false;
          error.textContent = failure && failure.fromServer ? failure.message : form.dataset.failed;
          error.hidden = false;
        });
    });
  });
})();
