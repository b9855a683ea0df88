export default function UsersLoading() {
  return <div className="skeleton" style={{ height: '6rem' }} aria-busy="true" aria-label="Loading users" />;
}
