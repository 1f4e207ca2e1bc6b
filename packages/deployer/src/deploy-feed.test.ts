import { DeployFeed, FEED_BACKLOG_LINES, type FeedEvent } from './deploy-feed.js';

const deploy = { id: 'd1', commit: 'abc', branch: 'master', startedAt: '2026-01-01T00:00:00Z', trigger: 'push' };

describe('DeployFeed', () => {
  it('hands a late listener the running deploy’s lines so far, then every later event once', () => {
    const feed = new DeployFeed();
    feed.started('shop', deploy);
    feed.line('shop', 'd1', 'one');
    feed.line('shop', 'd1', 'two');
    const seen: FeedEvent[] = [];
    const { snapshot, stop } = feed.subscribe('shop', (event) => seen.push(event));
    expect(snapshot).toEqual({ running: { deploy, lines: ['one', 'two'], dropped: 0 } });
    feed.line('shop', 'd1', 'three');
    feed.line('blog', 'x', 'another app');
    feed.finished('shop', 'd1', 'succeeded');
    expect(seen).toEqual([
      { type: 'line', id: 'd1', line: 'three' },
      { type: 'finished', id: 'd1', status: 'succeeded' },
    ]);
    expect(feed.subscribe('shop', () => undefined).snapshot).toEqual({});
    stop();
    feed.started('shop', { ...deploy, id: 'd2' });
    expect(seen).toHaveLength(2);
  });

  it('keeps at most FEED_BACKLOG_LINES of a running deploy, counting the dropped ones', () => {
    const feed = new DeployFeed();
    feed.started('shop', deploy);
    for (let line = 0; line < FEED_BACKLOG_LINES + 3; line += 1) feed.line('shop', 'd1', String(line));
    const running = feed.subscribe('shop', () => undefined).snapshot.running;
    expect(running?.dropped).toBe(3);
    expect(running?.lines[0]).toBe('3');
    expect(running?.lines).toHaveLength(FEED_BACKLOG_LINES);
  });

  it('keeps going when a listener throws', () => {
    const feed = new DeployFeed();
    const seen: string[] = [];
    feed.subscribe('shop', () => {
      throw new Error('broken listener');
    });
    feed.subscribe('shop', (event) => seen.push(event.type));
    feed.started('shop', deploy);
    expect(seen).toEqual(['started']);
  });
});
