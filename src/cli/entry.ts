#!/usr/bin/env node
// The program's entry: signals are handled before the rest of it loads (see startup-signals.ts).
import { installStartupSignals } from './startup-signals.ts'

installStartupSignals()
await import('./main.ts')
