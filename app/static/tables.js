// A DSFR table wider than the screen scrolls sideways inside the page. Keyboard users must
// be able to reach it to scroll it (WCAG 2.1.1): such a table joins the tab order (its
// caption names it), and leaves it again when it fits.
const scrollers = ".fr-table:not(.fr-table--no-scroll) table, .fr-table__container";

function focusableWhenScrolling() {
  for (const element of document.querySelectorAll(scrollers)) {
    if (element.scrollWidth > element.clientWidth) {
      element.setAttribute("tabindex", "0");
    } else if (element.getAttribute("tabindex") === "0") {
      element.removeAttribute("tabindex");
    }
  }
}

focusableWhenScrolling();
window.addEventListener("load", focusableWhenScrolling);
window.addEventListener("resize", focusableWhenScrolling);
