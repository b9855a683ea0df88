/** A plain form post, so signing out works before (or without) JavaScript. */
export function SignOutButton() {
  return (
    <form action="/auth/sign-out" method="post">
      <button type="submit" className="link-button">
        Sign out
      </button>
    </form>
  );
}
