import type Docker from 'dockerode';
import type { RoutedService } from '../compose/policy.js';

const STACK_LABEL = 'com.docker.stack.namespace';

interface ServiceInfo {
  Spec: { Name: string; Labels?: Record<string, string> };
}

/**
 * Every swarm service that carries Traefik labels (`traefik.*` on the service, which is what Traefik's swarm
 * provider reads), with its owner: the stack it belongs to, or its own name outside a stack. One listing of the
 * swarm's services.
 */
export async function routedServices(docker: Docker): Promise<RoutedService[]> {
  const services = (await docker.listServices()) as ServiceInfo[];
  return services
    .map((service) => {
      const labels = service.Spec.Labels ?? {};
      const stack = labels[STACK_LABEL];
      const traefik = Object.fromEntries(Object.entries(labels).filter(([key]) => key.startsWith('traefik.')));
      const name =
        stack !== undefined && service.Spec.Name.startsWith(`${stack}_`)
          ? service.Spec.Name.slice(stack.length + 1)
          : service.Spec.Name;
      return { owner: stack ?? service.Spec.Name, service: name, labels: traefik };
    })
    .filter((service) => Object.keys(service.labels).length > 0);
}
