import type Docker from 'dockerode';
import type DockerModem from 'docker-modem';

/**
 * One Engine API request through dockerode's connection (socket, TLS or TCP as configured), for the endpoints
 * and query parameters dockerode does not expose. Resolves with what docker-modem answers: parsed JSON, a
 * readable stream when `isStream`, or the upgraded socket when `hijack`.
 * @throws the engine's error (with its status code) when it answers outside `statusCodes`.
 */
export function engineRequest(docker: Docker, options: DockerModem.DialOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(options, (error, result) => {
      if (error) reject(error);
      else resolve(result);
    });
  });
}
