export default function AuditLoading() {
  return <div className="skeleton" style={{ height: '12rem' }} aria-busy="true" aria-label="Loading the audit log" />;
}
