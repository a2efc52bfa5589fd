// The dashboard's only script: confirmations before operator actions, and sorting of the small
// tables that are shown whole (the long ones sort and page on the server).
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

function cellValue(row, index) {
  const text = row.cells[index] ? row.cells[index].textContent.trim() : "";
  // "12.5%", "1,204", "36 h" sort as numbers; anything else as text.
  const number = parseFloat(text.replace(/[,%\sh×d]/g, ""));
  return Number.isNaN(number) ? text.toLowerCase() : number;
}

function sortBy(table, index, header) {
  const body = table.tBodies[0];
  const ascending = header.getAttribute("aria-sort") !== "ascending";
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = cellValue(a, index);
    const y = cellValue(b, index);
    if (x === y) return 0;
    const before = typeof x === typeof y ? x < y : typeof x === "number";
    return (before ? -1 : 1) * (ascending ? 1 : -1);
  });
  for (const th of table.tHead.rows[0].cells) th.setAttribute("aria-sort", "none");
  header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  rows.forEach((row) => body.appendChild(row));
}

document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table.sortable")) {
    if (!table.tHead || !table.tBodies.length) continue;
    Array.from(table.tHead.rows[0].cells).forEach((header, index) => {
      header.setAttribute("aria-sort", "none");
      header.tabIndex = 0;
      header.title = "sort by this column";
      header.addEventListener("click", () => sortBy(table, index, header));
      header.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          sortBy(table, index, header);
        }
      });
    });
  }
});
