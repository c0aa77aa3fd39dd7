// /planning: "Tildel" gives a visit nobody has to the chosen colleague. A continuity break or
// a new face for a citizen with few new faces is asked about first, then sent confirmed.
import { api } from "/static/js/console.js";

const section = document.getElementById("unassigned");

function fill(template, details) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(details?.[key] ?? ""));
}

async function assign(form) {
  const status = form.querySelector(".assign-status");
  const select = form.elements.namedItem("staff_id");
  const body = { staff_id: Number(select.value) };
  // The API's error details are not passed on by api(): the page has the names itself.
  const details = { staff: select.selectedOptions[0]?.dataset.name, team: form.dataset.team };
  for (;;) {
    try {
      await api(`/api/visits/${form.dataset.visitId}/assign`, body);
      status.textContent = section.dataset.assigned;
      form.closest("li")?.setAttribute("data-assigned", "true");
      form.querySelector("button[type=submit]").disabled = true;
      return;
    } catch (error) {
      if (error.code === "continuity_confirm" && !body.confirm_outside) {
        if (!window.confirm(fill(section.dataset.confirmOutside, details))) return;
        body.confirm_outside = true;
      } else if (error.code === "new_face_confirm" && !body.confirm_new_face) {
        if (!window.confirm(fill(section.dataset.confirmNewFace, details))) return;
        body.confirm_new_face = true;
      } else {
        const known = { not_qualified: section.dataset.notQualified, no_qualified_staff: section.dataset.noQualified };
        status.textContent = `${section.dataset.failed} ${known[error.code] ?? error.message}`;
        return;
      }
    }
  }
}

for (const form of section?.querySelectorAll("form.assign-form") ?? []) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (form.elements.namedItem("staff_id")) assign(form);
  });
}
