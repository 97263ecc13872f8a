// Starts Swagger UI on /api/docs. A file rather than an inline script, so that the page's
// Content-Security-Policy can keep `script-src 'self'`.
"use strict";

window.addEventListener("DOMContentLoaded", () => {
  const container = document.getElementById("swagger-ui-container");
  window.ui = window.SwaggerUIBundle({
    url: container.dataset.specUrl,
    domNode: container,
    // No badge from the public validator: the page loads nothing from another origin.
    validatorUrl: null,
  });
});
