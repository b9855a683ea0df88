/**
 * A user id short enough for a table cell that still tells users apart: its first and last four
 * characters. The first eight alone are not enough: ids made by hand or by a seed often share
 * their start (the demo accounts all begin 00000000), and a column of identical cells hides who
 * is who. The full id stays in the element's title and the link.
 */
export function shortUserId(id: string): string {
  return id.length <= 9 ? id : `${id.slice(0, 4)}…${id.slice(-4)}`;
}
