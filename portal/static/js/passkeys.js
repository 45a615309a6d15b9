// Passkeys (WebAuthn) on the Security page and at the second step of sign-in. Each form marked
// data-passkey-form ("create" or "get") carries the server's options as JSON in data-options
// (their challenge is kept on the server); the browser's answer goes in the form's hidden
// "credential" field and the form is posted with its CSRF token. Without WebAuthn the forms
// stay hidden.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function toBytes(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    return Uint8Array.from(atob(padded), function (c) {
      return c.charCodeAt(0);
    });
  }

  function toText(buffer) {
    let binary = "";
    new Uint8Array(buffer).forEach(function (b) {
      binary += String.fromCharCode(b);
    });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return Object.assign({}, d, { id: toBytes(d.id) });
    });
  }

  function creationOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.user.id = toBytes(o.user.id);
    o.excludeCredentials = descriptors(o.excludeCredentials);
    return o;
  }

  function requestOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.allowCredentials = descriptors(o.allowCredentials);
    return o;
  }

  function asJSON(credential) {
    const r = credential.response;
    const out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(r.clientDataJSON) },
    };
    if (credential.authenticatorAttachment) {
      out.authenticatorAttachment = credential.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toText(r.userHandle);
      }
    }
    return JSON.stringify(out);
  }

  document.querySelectorAll("[data-passkey-unsupported]").forEach(function (note) {
    note.hidden = true;
  });

  document.querySelectorAll("form[data-passkey-form]").forEach(function (form) {
    form.hidden = false;
    const status = form.querySelector("[data-passkey-status]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      status.textContent = "";
      const options = JSON.parse(form.dataset.options);
      const asked =
        form.dataset.passkeyForm === "create"
          ? navigator.credentials.create({ publicKey: creationOptions(options) })
          : navigator.credentials.get({ publicKey: requestOptions(options) });
      asked
        .then(function (credential) {
          form.querySelector("input[name='credential']").value = asJSON(credential);
          form.submit();
        })
        .catch(function () {
          status.textContent = form.dataset.failed;
        });
    });
  });
})();
