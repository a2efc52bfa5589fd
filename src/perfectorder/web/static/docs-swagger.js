// Boots Swagger UI on /docs from a file of ours: the page's policy allows no inline script.
"use strict";

const element = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: element.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // The default validator badge is fetched from a third-party service; our tests check the document.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
