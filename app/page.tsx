export default function HomePage() {
  return (
    <main>
      <h1>Job Health</h1>
      <p>Image generation jobs and the health of the pipeline behind them.</p>
    </main>
  );
}
