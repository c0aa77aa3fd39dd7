// A relative's page: a print button where printing is possible (the page prints on one A4 page).
const button = document.querySelector(".print-button");
if (button && typeof window.print === "function") {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
