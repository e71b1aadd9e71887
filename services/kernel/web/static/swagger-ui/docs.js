// Starts Swagger UI on the service's own OpenAPI document. A file, not an inline script, so
// the Content-Security-Policy can forbid inline scripts on every page.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The default validator badge would call validator.swagger.io: nothing leaves the site.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
