// A data table with a caption and column headers, scrolling sideways on narrow screens.
import type { ReactNode } from "react";
import { FOCUS_RING } from "./Button";

export interface Column<Row> {
  header: string;
  cell: (row: Row) => ReactNode;
}

interface TableProps<Row> {
  caption: string;
  columns: Column<Row>[];
  rows: Row[];
  rowKey: (row: Row) => string;
}

export function Table<Row>({ caption, columns, rows, rowKey }: TableProps<Row>) {
  return (
    // Focusable and named, so a keyboard can scroll a table wider than a phone's screen; positioned,
    // so the screen-reader-only words of its buttons (absolute) scroll with it, not the page.
    <div className={`relative overflow-x-auto ${FOCUS_RING}`} tabIndex={0} role="region" aria-label={caption}>
      <table className="w-full border-collapse text-left text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr className="border-b border-slate-300 dark:border-slate-600">
            {columns.map((column) => (
              <th key={column.header} scope="col" className="px-3 py-2 font-semibold">
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} className="border-b border-slate-200 dark:border-slate-700">
              {columns.map((column) => (
                <td key={column.header} className="px-3 py-2">
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
