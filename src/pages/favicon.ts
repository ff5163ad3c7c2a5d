/** The service's icon: a court seal's red square with 费 (fee) in white, drawn here, no outside assets. */
export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#b22222"/>' +
  '<text x="16" y="24" font-size="22" text-anchor="middle" fill="#fff" font-family="sans-serif">费</text></svg>';

/** The icon as a page links it (`<link rel="icon">`): no second request, and none for a missing /favicon.ico. */
export const FAVICON_DATA_URL = `data:image/svg+xml,${encodeURIComponent(FAVICON_SVG)}`;
