// Keyboard shortcuts of the editor (moved out of main.ts whole): undo/redo,
// save, and the tools while a zone or proposal is edited.
import { S, type Tool } from './store';

/** What the shortcuts do. */
export interface KeyActions { undo: () => void; redo: () => void; save: () => void; setTool: (t: Tool) => void }

/** bindKeys listens for the editor's shortcuts on the document. */
export function bindKeys(a: KeyActions) {
  document.addEventListener('keydown', (e) => {
    const inField = (e.target as HTMLElement)?.closest?.('input, textarea, select');
    const k = e.key.toLowerCase();
    if ((e.ctrlKey || e.metaKey) && k === 'z') { e.preventDefault(); if (e.shiftKey) a.redo(); else a.undo(); return; }
    if ((e.ctrlKey || e.metaKey) && k === 'y') { e.preventDefault(); a.redo(); return; }
    if ((e.ctrlKey || e.metaKey) && k === 's') {
      e.preventDefault();
      if (S.target) a.save();
      return;
    }
    if (inField || e.ctrlKey || e.metaKey || e.altKey || !S.target) return;
    const tools: Record<string, Tool> = { b: 'buildings', v: 'vertex', p: 'draw', h: 'hole', escape: 'none' };
    if (tools[k]) { e.preventDefault(); a.setTool(tools[k]); }
  });
}
