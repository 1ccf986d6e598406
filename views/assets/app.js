// Progressive enhancement only: copy buttons and confirmations. Pages work without it.
document.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-copy]');
  if (button) {
    const text = document.getElementById(button.dataset.copy)?.textContent ?? '';
    navigator.clipboard?.writeText(text).then(() => {
      button.textContent = 'Copied';
    });
  }
});
document.addEventListener('submit', (event) => {
  const message = event.target.dataset?.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
