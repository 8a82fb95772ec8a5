// Forms marked data-confirm="question" ask before they submit (withdraw, discard...).
export function confirmMessage(form: HTMLFormElement): string | null {
  const text = form.dataset.confirm;
  return text && text.trim() ? text.trim() : null;
}

export function installConfirm(root: Document, ask: (q: string) => boolean): void {
  root.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const question = confirmMessage(form);
    if (question && !ask(question)) event.preventDefault();
  });
}
