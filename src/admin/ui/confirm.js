// The confirmation step of every action: a modal dialog naming the change, with an optional
// reason (kept in the history) and, while a rollout is active, an opt-in "force".

const $ = (id) => document.getElementById(id)

/**
 * Asks to confirm `title` (`detail` below it). Resolves to `{ reason, force }` on Confirm,
 * or null on Cancel / Escape. `offerForce` shows the force checkbox.
 */
export function confirmAction ({ title, detail = '', offerForce = false }) {
  const dialog = $('confirm')
  $('confirm-title').textContent = title
  $('confirm-detail').textContent = detail
  $('confirm-reason').value = ''
  $('confirm-force').checked = false
  $('confirm-force-row').hidden = !offerForce
  return new Promise((resolve) => {
    const done = (value) => {
      $('confirm-form').removeEventListener('submit', onSubmit)
      $('confirm-cancel').removeEventListener('click', onCancel)
      dialog.removeEventListener('cancel', onCancel)
      if (dialog.open) dialog.close()
      resolve(value)
    }
    const onSubmit = (e) => {
      e.preventDefault()
      const reason = $('confirm-reason').value.trim()
      done({ reason: reason === '' ? undefined : reason, force: $('confirm-force').checked })
    }
    const onCancel = (e) => { e.preventDefault(); done(null) }
    $('confirm-form').addEventListener('submit', onSubmit)
    $('confirm-cancel').addEventListener('click', onCancel)
    dialog.addEventListener('cancel', onCancel)
    dialog.showModal()
    $('confirm-ok').focus()
  })
}
