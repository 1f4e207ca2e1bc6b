import { PushTurns } from './push-turns.js';

describe('PushTurns', () => {
  it('runs the pushes to one app one after the other, in order, and other apps at once', async () => {
    const turns = new PushTurns();
    const order: string[] = [];
    const endFirst = await turns.take('shop');
    expect(turns.busy('shop')).toBe(true);
    const second = turns.take('shop').then((end) => {
      order.push('second');
      return end;
    });
    const third = turns.take('shop').then((end) => {
      order.push('third');
      end();
    });
    const endOther = await turns.take('blog');
    order.push('other');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual(['other']);
    endFirst();
    endFirst();
    const endSecond = await second;
    expect(order).toEqual(['other', 'second']);
    endSecond();
    await third;
    expect(order).toEqual(['other', 'second', 'third']);
    endOther();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(turns.busy('shop')).toBe(false);
    expect(turns.busy('blog')).toBe(false);
  });
});
