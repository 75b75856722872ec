// The dashboard: signs in (token from #token=… or the form, or none on a token-less
// loopback listener), polls the admin API every 1.5 s and renders it; every action asks
// for confirmation first and then shows the server's answer.
import { call, describe, setToken, takeTokenFromFragment, token } from './api.js'
import { confirmAction } from './confirm.js'
import { renderHistory, renderRollout, renderTargets, renderTraffic } from './panels.js'
import { renderWeights } from './weights.js'

const POLL_MS = 1500
const $ = (id) => document.getElementById(id)

let canWrite = false
let rolloutActive = false
let polling = false
let timer = null

function notice (text, kind = 'info') {
  const el = $('notice')
  el.textContent = text
  el.className = kind
}

function showLogin (message) {
  $('main').hidden = true
  $('login').hidden = false
  $('login-error').textContent = message ?? ''
  $('summary').textContent = 'signed out'
  $('token').focus()
}

/** Runs a confirmed write and reports its answer; true when the server accepted it. */
async function write (method, path, body, what) {
  const answer = await call(method, path, body)
  if (answer.status === 200 || answer.status === 201 || answer.status === 202) {
    notice(`${what}: done${answer.body?.version === undefined ? '' : ` (version ${answer.body.version})`}${answer.status === 202 ? ', not yet applied on every instance' : ''}`, 'ok')
    void poll()
    return true
  }
  notice(`${what} refused: ${describe(answer)}`, 'error')
  return false
}

function withChoices (body, choice) {
  const out = { ...body }
  if (choice.reason !== undefined) out.reason = choice.reason
  if (choice.force) out.force = true
  return out
}

const actions = {
  refresh: () => { void poll() },
  async setWeights (weights) {
    const text = Object.entries(weights).map(([c, w]) => `${c} ${w} %`).join(', ')
    const choice = await confirmAction({ title: 'Set weights?', detail: text, offerForce: rolloutActive })
    if (choice === null) return false
    return await write('PUT', '/weights', withChoices({ weights }, choice), 'set weights')
  },
  async flip (to) {
    const choice = await confirmAction({ title: `Flip all traffic to ${to}?`, detail: `${to} gets 100 %; the others 0 %.`, offerForce: rolloutActive })
    if (choice === null) return false
    return await write('POST', '/flip', withChoices({ to }, choice), `flip to ${to}`)
  },
  async rollback () {
    const choice = await confirmAction({ title: 'Roll back?', detail: 'Back to the weights before the last change.', offerForce: rolloutActive })
    if (choice === null) return false
    return await write('POST', '/rollback', withChoices({}, choice), 'rollback')
  },
  async target (t, action) {
    const choice = await confirmAction({ title: `${action === 'drain' ? 'Drain' : 'Enable'} ${t.color}/${t.id}?`, detail: action === 'drain' ? 'No new requests go to it; requests in flight finish.' : 'It takes requests again.' })
    if (choice === null) return false
    return await write('POST', `/targets/${encodeURIComponent(t.color)}/${encodeURIComponent(t.id)}/${action}`, withChoices({}, choice), `${action} ${t.color}/${t.id}`)
  },
  async rolloutAction (name, r) {
    const choice = await confirmAction({ title: `${name[0].toUpperCase()}${name.slice(1)} the rollout ${r.from} → ${r.to}?`, detail: name === 'abort' ? 'The weights go back to where the rollout started.' : name === 'promote' ? `${r.to} gets 100 % now, skipping the remaining steps.` : '' })
    if (choice === null) return false
    return await write('POST', `/rollout/${name}`, withChoices({}, choice), `rollout ${name}`)
  }
}

function applyReadOnly () {
  if (canWrite) return
  for (const el of document.querySelectorAll('.write')) el.disabled = true
}

async function poll () {
  // A tab in the background asks nothing; it catches up when shown again.
  if (polling || document.hidden) return
  polling = true
  try {
    const [state, targets, rollout, history, figures] = await Promise.all([
      call('GET', '/state'), call('GET', '/targets'), call('GET', '/rollout'), call('GET', '/history?limit=10'), call('GET', '/ui/api/figures')
    ])
    if (state.status === 401) { stop(); showLogin(describe(state)); return }
    if (state.status !== 200) { $('summary').textContent = `state: ${describe(state)}`; return }
    const s = state.body
    const inst = s.instances === null || s.instances === undefined ? 'instances unknown' : `applied on ${s.instances.applied} of ${s.instances.total}`
    $('summary').textContent = `version ${s.version} · ${inst} · ${s.store} store · last change ${s.kind} by ${s.changedBy}`
    rolloutActive = rollout.status === 200 && rollout.body?.rollout?.active === true
    renderWeights(s, actions)
    renderRollout(rollout, actions)
    if (targets.status === 200) renderTargets(targets.body.targets, s.colors, actions)
    if (history.status === 200) renderHistory(history.body.entries, s.colors)
    if (figures.status === 200) renderTraffic(figures.body)
    applyReadOnly()
  } finally {
    polling = false
  }
}

function stop () {
  if (timer !== null) clearInterval(timer)
  timer = null
}

async function start () {
  const who = await call('GET', '/ui/api/whoami')
  if (who.status === 401) { showLogin(token() === null ? '' : describe(who)); return }
  if (who.status !== 200) { notice(describe(who), 'error'); return }
  canWrite = who.body.write === true
  document.body.classList.toggle('read-only', !canWrite)
  $('who').textContent = who.body.tokenRequired ? `${who.body.name}${canWrite ? '' : ' (read-only)'}` : 'loopback, no token'
  $('sign-out').hidden = !who.body.tokenRequired
  $('login').hidden = true
  $('main').hidden = false
  await poll()
  timer = setInterval(() => { void poll() }, POLL_MS)
}

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault()
  setToken($('token').value.trim())
  $('token').value = ''
  void start()
})
$('sign-out').addEventListener('click', () => {
  setToken(null)
  stop()
  window.location.reload()
})

document.addEventListener('visibilitychange', () => { if (!document.hidden && timer !== null) void poll() })

takeTokenFromFragment()
void start()
