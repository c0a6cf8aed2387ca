// The catalogue's filters are a DSFR modal on small screens and a side column from md up
// (app.css). A modal left open when the screen widens past md (a phone turned sideways)
// would keep the page from scrolling behind a column that no longer looks like a dialog:
// close it, through the DSFR's own API.
(() => {
  const filters = document.getElementById("filtres");
  if (!filters) return;
  window.matchMedia("(min-width: 48em)").addEventListener("change", (event) => {
    if (event.matches && window.dsfr) window.dsfr(filters).modal.conceal();
  });
})();
